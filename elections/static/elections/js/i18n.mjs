// The site's translations for its ES modules (no DOM).
//
// A page whose scripts show text loads Django's JavaScriptCatalog (/jsi18n/) before
// them, as a script of this site: the Content-Security-Policy (script-src 'self')
// allows it, where a catalog written inline into the page would need
// 'unsafe-inline'. The catalog defines gettext, ngettext and interpolate on the
// page's global object, which modules share with classic scripts; modules read
// them through this one module. Where no catalog is loaded (a Web Worker, node's
// tests) the English text is used as it is: a worker gets from its page, in its
// messages, the few sentences it shows in the visitor's language.

const catalog = globalThis;

export function gettext(msgid) {
  return typeof catalog.gettext === "function" ? catalog.gettext(msgid) : msgid;
}

export function ngettext(singular, plural, count) {
  if (typeof catalog.ngettext === "function") {
    return catalog.ngettext(singular, plural, count);
  }
  return count === 1 ? singular : plural;
}

// interpolate("%(done)s of %(total)s", { done: 1, total: 2 }, true), as the catalog's.
export function interpolate(format, values, named) {
  if (typeof catalog.interpolate === "function") {
    return catalog.interpolate(format, values, named);
  }
  if (named) {
    return format.replace(/%\(\w+\)s/g, (match) => String(values[match.slice(2, -2)]));
  }
  const rest = Array.from(values);
  return format.replace(/%s/g, () => String(rest.shift()));
}
