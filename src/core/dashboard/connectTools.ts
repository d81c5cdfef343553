/**
 * How to point each AI tool at the proxy: the exact setting or snippet, used by the "Connect AI
 * Tools…" quick pick, the panel's empty state and the walkthrough. Pure strings, so the CLI and the
 * webview can use them too.
 */
export interface ToolSnippet {
  id: string;
  label: string;
  /** One line for a list: where the setting goes. */
  where: string;
  /** The text to copy, exactly as it goes into the file, shell or field. */
  snippet: string;
  /** A VS Code language id for showing the snippet. */
  language: 'shellscript' | 'toml' | 'yaml' | 'typescript' | 'plaintext';
}

const trim = (url: string): string => url.replace(/\/+$/, '');

export function toolSnippets(proxyUrl: string): ToolSnippet[] {
  const url = trim(proxyUrl);
  return [
    {
      id: 'claude-code',
      label: 'Claude Code',
      where: 'In the shell you start `claude` from, or under "env" in ~/.claude/settings.json',
      snippet: `export ANTHROPIC_BASE_URL=${url}`,
      language: 'shellscript',
    },
    {
      id: 'codex',
      label: 'Codex CLI',
      where: 'In ~/.codex/config.toml (keeps your OPENAI_API_KEY)',
      snippet: [
        'model_provider = "tokenmeter"',
        '',
        '[model_providers.tokenmeter]',
        'name = "OpenAI through Tokenmeter"',
        `base_url = "${url}/openai/v1"`,
        'env_key = "OPENAI_API_KEY"',
        'wire_api = "responses"',
        'supports_websockets = false',
      ].join('\n'),
      language: 'toml',
    },
    {
      id: 'continue',
      label: 'Continue',
      where: 'Under "models" in ~/.continue/config.yaml (apiBase of each model)',
      snippet: [
        'models:',
        '  - name: GPT-4o (Tokenmeter)',
        '    provider: openai',
        '    model: gpt-4o',
        `    apiBase: ${url}/openai/v1`,
        '  - name: Claude Sonnet (Tokenmeter)',
        '    provider: anthropic',
        '    model: claude-sonnet-4-5',
        `    apiBase: ${url}/anthropic/v1/`,
      ].join('\n'),
      language: 'yaml',
    },
    {
      id: 'cline',
      label: 'Cline / Roo Code',
      where: 'Settings → API Provider "OpenAI Compatible" → Base URL (or Anthropic → "Use custom base URL": /anthropic)',
      snippet: `${url}/openai/v1`,
      language: 'plaintext',
    },
    {
      id: 'aider',
      label: 'Aider',
      where: 'On the command line, or as openai-api-base in .aider.conf.yml',
      snippet: `aider --openai-api-base ${url}/openai/v1`,
      language: 'shellscript',
    },
    {
      id: 'gemini-cli',
      label: 'Gemini CLI',
      where: 'In the shell you start `gemini` from (Gemini API key sign-in)',
      snippet: `export GOOGLE_GEMINI_BASE_URL=${url}/gemini`,
      language: 'shellscript',
    },
    {
      id: 'openai-sdk',
      label: 'OpenAI SDK',
      where: 'Where the client is created (or OPENAI_BASE_URL in its environment)',
      snippet: `const client = new OpenAI({ baseURL: '${url}/openai/v1' });`,
      language: 'typescript',
    },
    {
      id: 'anthropic-sdk',
      label: 'Anthropic SDK',
      where: 'Where the client is created (or ANTHROPIC_BASE_URL in its environment)',
      snippet: `const client = new Anthropic({ baseURL: '${url}/anthropic' });`,
      language: 'typescript',
    },
  ];
}

/**
 * The variables `tokenmeter.routeTerminals` sets in integrated terminals: the base URLs the tools
 * above read from their environment (OPENAI_API_BASE for Aider and older OpenAI clients).
 */
export function terminalEnvironment(proxyUrl: string): Record<string, string> {
  const url = trim(proxyUrl);
  return {
    ANTHROPIC_BASE_URL: url,
    OPENAI_BASE_URL: `${url}/openai/v1`,
    OPENAI_API_BASE: `${url}/openai/v1`,
    GOOGLE_GEMINI_BASE_URL: `${url}/gemini`,
  };
}
