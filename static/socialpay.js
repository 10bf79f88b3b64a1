// Small progressive enhancements on top of htmx; every page works without this file.
// The notification badge polls every 30 s: not while the tab is hidden, and at once when
// the person comes back to it.
document.addEventListener("htmx:beforeRequest", (event) => {
  if (document.hidden && event.detail.elt.id === "notif-badge") event.preventDefault();
});
document.addEventListener("visibilitychange", () => {
  const badge = document.getElementById("notif-badge");
  if (!document.hidden && badge && window.htmx) window.htmx.trigger(badge, "refresh");
});
// Light or dark: the account menu's button flips the theme and remembers it in a cookie that
// the server renders into <html data-theme>; without a choice the system setting applies.
document.addEventListener("click", (event) => {
  if (!event.target.closest("[data-theme-toggle]")) return;
  const root = document.documentElement;
  const dark = root.dataset.theme
    ? root.dataset.theme === "dark"
    : window.matchMedia("(prefers-color-scheme: dark)").matches;
  root.dataset.theme = dark ? "light" : "dark";
  document.cookie = `theme=${root.dataset.theme}; path=/; max-age=31536000; samesite=lax`;
});
// A refused post comes back as the composer with the error and what was typed (a 4xx):
// swap it in, rather than htmx's default of leaving 4xx answers unshown.
document.addEventListener("htmx:beforeSwap", (event) => {
  const status = event.detail.xhr.status;
  if (status >= 400 && status < 500 && event.detail.elt.closest("#composer")) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
// The composer's photo slots: with this file, one empty slot shows at a time and the next
// one appears when a photo is chosen (without it all four show).
function photoSlotsTidy() {
  document.querySelectorAll(".photo-slots").forEach((list) => {
    let emptyShown = false;
    list.querySelectorAll(".photo-slot").forEach((slot) => {
      const empty = !slot.querySelector("input[type=file]").files.length
        && !slot.querySelector("input[name^=alt_]").value
        && !slot.querySelector(".field-error");
      slot.hidden = empty && emptyShown;
      if (empty) emptyShown = true;
    });
  });
}
document.addEventListener("change", (event) => {
  if (event.target.closest(".photo-slot")) photoSlotsTidy();
});
document.addEventListener("DOMContentLoaded", photoSlotsTidy);
document.addEventListener("htmx:afterSettle", photoSlotsTidy);
