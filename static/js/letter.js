// Letters: the "Print" link opens the PDF without JavaScript; with it, print the page itself
// (the print stylesheet in css/letter.css keeps only the letter sheet).
document.addEventListener("click", (event) => {
  const link = event.target.closest(".js-print");
  if (!link) return;
  event.preventDefault();
  window.print();
});
