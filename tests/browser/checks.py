"""What every page must pass in a real browser: axe-core's serious and critical rules, unique
ids, no sideways scrolling on a phone, tap targets a thumb can hit, and a visible keyboard focus.

Each check returns what is wrong as readable lines (empty when the page passes), so a failing
assertion names the element and the measurement.
"""

from __future__ import annotations

from playwright.sync_api import Page

from tests.browser.axe import axe_source

MIN_TAP_PX = 44

# Links inside running text are exempt from the target size (WCAG 2.5.8 "inline"): a sentence's
# link is as tall as its line. Everything else a thumb must hit is measured: buttons, fields,
# menus, navigation, tabs and pagination.
_SMALL_TARGETS = """(minimum) => {
  const inline = 'p a, pre a, .outbox-text a, li p a, .prose a, .article-body a, blockquote a, figcaption a, dd a, td a, .comment-body a, .muted a, small a, label a';
  const found = [];
  for (const el of document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary')) {
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height || getComputedStyle(el).visibility === 'hidden') continue;
    if (el.matches(inline) || el.closest('[aria-hidden=true]')) continue;
    let width = box.width, height = box.height;
    const label = el.closest('label') || (el.id && document.querySelector(`label[for="${el.id}"]`));
    if (label && (el.type === 'checkbox' || el.type === 'radio')) {
      const area = label.getBoundingClientRect();
      width = Math.max(width, area.width); height = Math.max(height, area.height);
    }
    if (Math.round(width) < minimum || Math.round(height) < minimum) {
      const name = (el.getAttribute('aria-label') || el.textContent || el.name || el.id || '').trim().replace(/\\s+/g, ' ').slice(0, 40);
      found.push(`${el.tagName.toLowerCase()}${el.className ? '.' + String(el.className).split(' ').join('.') : ''} "${name}" ${Math.round(width)}x${Math.round(height)}`);
    }
  }
  return found;
}"""

_AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations
    .filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => `${v.impact} ${v.id}: ${v.help} at ` + v.nodes.slice(0, 5).map(n => n.target.join(' ')).join(', '));
}"""


def axe_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated, not added as a <script>: the shop's CSP (rightly) refuses inline scripts.
        page.evaluate("(source) => { (0, eval)(source); }", axe_source())
    return page.evaluate(_AXE_RUN)


def duplicate_ids(page: Page) -> list[str]:
    return page.evaluate(
        """() => { const seen = {};
          document.querySelectorAll('[id]').forEach(e => { seen[e.id] = (seen[e.id] || 0) + 1; });
          return Object.entries(seen).filter(([, n]) => n > 1).map(([id, n]) => `#${id} x${n}`); }"""
    )


def horizontal_overflow(page: Page) -> list[str]:
    """The page is wider than the window (a phone would scroll sideways)."""
    width, window = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    return [f"page is {width} px wide in a {window} px window"] if width > window else []


def small_tap_targets(page: Page) -> list[str]:
    return page.evaluate(_SMALL_TARGETS, MIN_TAP_PX)


def page_problems(page: Page, *, phone: bool) -> list[str]:
    """Every check at once, for a page loaded at a phone's or a desktop's size."""
    problems = axe_violations(page) + duplicate_ids(page)
    if phone:
        problems += horizontal_overflow(page) + small_tap_targets(page)
    return problems


def focus_is_visible(page: Page) -> bool:
    """The focused element draws an outline or a box shadow (a keyboard user sees where they are)."""
    return page.evaluate(
        """() => { const el = document.activeElement; if (!el || el === document.body) return false;
          const s = getComputedStyle(el);
          return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none'; }"""
    )
