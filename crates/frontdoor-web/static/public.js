// The public site's only script; every page works without it.
// Leave this site quickly (the GOV.UK "exit this page" pattern). Without JavaScript the button is
// a plain link to /leave, which redirects. With it, the page is also replaced in the history so
// the back button does not return here, and pressing Escape three times leaves too.
(function () {
  var button = document.querySelector('.exit-button');
  if (!button) { return; }
  var target = button.getAttribute('data-exit-url') || 'https://www.bbc.co.uk/weather';
  function leave(event) {
    if (event) { event.preventDefault(); }
    document.body.style.display = 'none';
    window.location.replace(target);
  }
  button.addEventListener('click', leave);
  var presses = 0;
  var timer = null;
  document.addEventListener('keyup', function (event) {
    if (event.key !== 'Escape' && event.key !== 'Esc') { return; }
    presses += 1;
    clearTimeout(timer);
    timer = setTimeout(function () { presses = 0; }, 2000);
    if (presses >= 3) { leave(); }
  });
})();

// A form with errors: move focus to the error summary so screen readers announce it (GOV.UK
// error summary pattern); its links then move focus to each field.
(function () {
  var summary = document.getElementById('error-summary');
  if (summary) { summary.focus(); }
})();
