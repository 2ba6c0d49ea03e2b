"""What the doors share on the web: the request's database, the browser's SSO session, rate
limits and safe redirects. It imports no door, so every door may import it."""
