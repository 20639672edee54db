// Runs before the page paints: marks that scripts run, so CSS can fold the
// phone menu behind its button (without scripts the menu stays open).
document.documentElement.classList.add("js");
