import * as vscode from 'vscode';
import { toolSnippets, type ToolSnippet } from '../core/dashboard/connectTools';
import type { ProxyHost } from './proxyHost';

const COMMENT: Record<ToolSnippet['language'], string> = { shellscript: '# ', toml: '# ', yaml: '# ', typescript: '// ', plaintext: '' };

/** The proxy's URL, or the one it will have once started (the configured port). */
export function proxyUrlFor(host: ProxyHost): { url: string; running: boolean } {
  const { url } = host.current;
  if (url !== null) {
    return { url, running: true };
  }
  return { url: `http://127.0.0.1:${host.settings.port === 0 ? 8383 : host.settings.port}`, running: false };
}

/**
 * Tokenmeter: Connect AI Tools… — pick a tool, get its exact setting: copied to the clipboard and
 * shown in an untitled editor with where it goes. `toolId` skips the quick pick (walkthrough links,
 * tests). Resolves with the snippet copied, or undefined when the pick was dismissed.
 */
export async function connectTools(host: ProxyHost, toolId?: unknown): Promise<string | undefined> {
  const { url, running } = proxyUrlFor(host);
  const tools = toolSnippets(url);
  let tool = typeof toolId === 'string' ? tools.find((t) => t.id === toolId) : undefined;
  if (tool === undefined) {
    const picked = await vscode.window.showQuickPick(
      tools.map((t) => ({ label: t.label, description: t.snippet.split('\n')[0], detail: t.where, tool: t })),
      { title: 'Connect AI Tools to Tokenmeter', placeHolder: 'Which tool should send its requests through the proxy?', matchOnDescription: true },
    );
    tool = picked?.tool;
  }
  if (tool === undefined) {
    return undefined;
  }
  await vscode.env.clipboard.writeText(tool.snippet);
  const prefix = COMMENT[tool.language];
  const header = [
    `${tool.label}: ${tool.where}.`,
    'Copied to the clipboard. Requests then show up in Tokenmeter: Open Metrics Panel.',
    ...(running ? [] : ['The proxy is not running yet: run "Tokenmeter: Start Proxy".']),
  ];
  const content = `${header.map((l) => `${prefix}${l}`).join('\n')}\n\n${tool.snippet}\n`;
  const doc = await vscode.workspace.openTextDocument({ language: tool.language, content });
  await vscode.window.showTextDocument(doc, { preview: true });
  void vscode.window.showInformationMessage(`Tokenmeter: copied the ${tool.label} setting to the clipboard.`);
  return tool.snippet;
}
