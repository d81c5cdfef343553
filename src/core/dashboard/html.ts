/**
 * The page around the panel's bundle, shared by the VS Code webview and the standalone dashboard:
 * only the CSP, the asset URLs and the transport differ. Scripts run by nonce; styles come from
 * files (plus the UI toolkit's one probe element, which it tags with the csp-nonce meta's nonce,
 * microsoft/vscode-webview-ui-toolkit#545), so neither needs 'unsafe-inline'.
 */
export interface PageOptions {
  csp: string;
  nonce: string;
  script: string;
  styles: string[];
  transport: 'vscode' | 'browser';
  icon?: string;
}

const attr = (s: string): string => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

export function dashboardPage(o: PageOptions): string {
  const links = o.styles.map((href) => `<link rel="stylesheet" href="${attr(href)}">`).join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${attr(o.csp)}">
<meta property="csp-nonce" content="${attr(o.nonce)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
${links}
${o.icon === undefined ? '' : `<link rel="icon" href="${attr(o.icon)}">`}
<title>Tokenmeter</title>
</head>
<body data-transport="${o.transport}">
<script nonce="${attr(o.nonce)}" src="${attr(o.script)}"></script>
</body>
</html>`;
}

/**
 * The standalone page's policy: same-origin assets and API, nothing else, never framed. The
 * response header carries it whole; the meta copy leaves out what a meta element cannot set.
 */
export function standaloneCsp(nonce: string, header = true): string {
  const directives = [
    "default-src 'none'",
    "img-src 'self' data:",
    `style-src 'self' 'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}'`,
    "connect-src 'self'",
    "font-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
  ];
  return (header ? [...directives, "frame-ancestors 'none'"] : directives).join('; ');
}

/** The webview's policy: assets from the webview's resource origin only. */
export function webviewCsp(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `img-src ${cspSource} data:`,
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}'`,
    `font-src ${cspSource}`,
  ].join('; ');
}
