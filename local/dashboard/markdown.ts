/**
 * The markdown of a text widget as HTML: a small safe subset (headings, paragraphs, bullet lists,
 * bold, italics, inline code, and links to http(s) addresses or relative paths). Everything is
 * HTML-escaped first, so no tag or attribute of the source reaches the page.
 */

/** Escapes text for HTML element content and double-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** A link target the page may follow: http(s), or a relative path without a scheme. */
function safeHref(escapedUrl: string): string | undefined {
  if (/^https?:\/\//i.test(escapedUrl)) return escapedUrl;
  if (/^[a-z][a-z0-9+.-]*:/i.test(escapedUrl)) return undefined;
  return escapedUrl;
}

/** Inline markup over text that is already escaped. */
function inline(escaped: string): string {
  return escaped
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
    .replace(/(^|[^*])\*([^*\s][^*]*)\*/g, '$1<em>$2</em>')
    .replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (whole, text: string, url: string) => {
      const href = safeHref(url);
      return href ? `<a href="${href}" rel="noopener noreferrer">${text}</a>` : whole;
    });
}

/** Renders the subset; anything else shows as the (escaped) text it is. */
export function renderMarkdown(source: string): string {
  const out: string[] = [];
  let paragraph: string[] = [];
  let list: string[] = [];
  const flush = () => {
    if (paragraph.length) out.push(`<p>${paragraph.map(inline).join(' ')}</p>`);
    if (list.length) out.push(`<ul>${list.map((item) => `<li>${inline(item)}</li>`).join('')}</ul>`);
    paragraph = [];
    list = [];
  };
  for (const raw of escapeHtml(source).split(/\r?\n/)) {
    const line = raw.trimEnd();
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    const item = /^\s*[-*]\s+(.*)$/.exec(line);
    if (heading) {
      flush();
      const level = heading[1]!.length;
      out.push(`<h${level}>${inline(heading[2]!)}</h${level}>`);
    } else if (item) {
      if (paragraph.length) flush();
      list.push(item[1]!);
    } else if (line.trim() === '') {
      flush();
    } else {
      if (list.length) flush();
      paragraph.push(line.trim());
    }
  }
  flush();
  return out.join('\n');
}
