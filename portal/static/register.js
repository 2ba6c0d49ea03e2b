// Registration: show only the login fields the chosen option needs (the page works without it).
(function () {
  var form = document.querySelector("form[data-register]");
  if (!form) return;
  function update() {
    var checked = form.querySelector("input[name=choice]:checked");
    var choice = checked ? checked.value : "";
    form.querySelectorAll("fieldset[data-for]").forEach(function (set) {
      set.hidden = set.getAttribute("data-for").split(" ").indexOf(choice) < 0;
    });
  }
  form.addEventListener("change", update);
  update();
})();
