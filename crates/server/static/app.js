// yunshou console behaviour. Loaded as a file (the CSP forbids inline script); every page
// works without it.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // The tenant switcher submits on change; its button stays for keyboards and no-JS.
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form.requestSubmit());
  }
  // Destructive buttons ask first.
  for (const button of document.querySelectorAll("button[data-confirm]")) {
    button.addEventListener("click", (event) => {
      if (!window.confirm(button.dataset.confirm)) event.preventDefault();
    });
  }
});
