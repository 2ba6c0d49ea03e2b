// OAuth 2.0 Form Post Response Mode: hand the authorization response to the application at once.
document.getElementById("form-post").submit();
