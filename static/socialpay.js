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
