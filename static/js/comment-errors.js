// After a comment that was not posted, take keyboard and screen-reader focus to the error
// summary, and from each of its links to the field it names. Only a help: without JavaScript the
// form's action ends in #comment-errors, so the page still opens at the summary.
(function () {
  "use strict";
  var summary = document.getElementById("comment-errors");
  if (!summary) {
    return;
  }
  function focusSummary() {
    // Not if the visitor has already moved on to a field or a link.
    if (!document.activeElement || document.activeElement === document.body) {
      summary.focus();
    }
  }
  focusSummary();
  // Chrome clears focus once more when it scrolls to the URL's fragment, just before "load".
  window.addEventListener("load", focusSummary);
  summary.addEventListener("click", function (event) {
    var link = event.target.closest("a[href^='#']");
    var field = link && document.getElementById(link.getAttribute("href").slice(1));
    if (field) {
      event.preventDefault();
      field.focus();
    }
  });
})();
