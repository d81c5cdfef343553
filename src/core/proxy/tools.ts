/**
 * Tool uses and results of a request's newest turn only. Clients resend the whole conversation
 * every time, so counting every tool block in the history would count old ones again and again.
 * The newest turn is the trailing run of tool traffic: the last assistant tool calls and the
 * results that answer them.
 */
export interface ToolCounts {
  toolUses: number;
  toolResults: number;
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const blocks = (content: unknown): Json[] => (Array.isArray(content) ? content.filter(isObj) : []);
const countType = (content: unknown, type: string): number => blocks(content).filter((b) => b.type === type).length;

export function countTools(body: Json): ToolCounts {
  if (Array.isArray(body.messages)) {
    return body.messages.some((m) => isObj(m) && m.role === 'tool') || !hasAnthropicBlocks(body.messages)
      ? openaiChat(body.messages)
      : anthropic(body.messages);
  }
  if (Array.isArray(body.input)) {
    return responses(body.input);
  }
  if (Array.isArray(body.contents)) {
    return gemini(body.contents);
  }
  return { toolUses: 0, toolResults: 0 };
}

function hasAnthropicBlocks(messages: unknown[]): boolean {
  return messages.some((m) => isObj(m) && blocks(m.content).some((b) => b.type === 'tool_use' || b.type === 'tool_result'));
}

/** Anthropic: the last user message's tool_result blocks and the assistant tool_use before it. */
function anthropic(messages: unknown[]): ToolCounts {
  const last = messages.at(-1);
  const prev = messages.at(-2);
  const toolResults = isObj(last) && last.role === 'user' ? countType(last.content, 'tool_result') : 0;
  if (toolResults === 0) {
    return { toolUses: 0, toolResults: 0 };
  }
  const toolUses = isObj(prev) && prev.role === 'assistant' ? countType(prev.content, 'tool_use') : 0;
  return { toolUses, toolResults };
}

/** OpenAI chat: trailing `tool` messages and the assistant message whose tool_calls they answer. */
function openaiChat(messages: unknown[]): ToolCounts {
  let i = messages.length - 1;
  let toolResults = 0;
  while (i >= 0 && isObj(messages[i]) && (messages[i] as Json).role === 'tool') {
    toolResults++;
    i--;
  }
  const m = messages[i];
  const toolUses = toolResults > 0 && isObj(m) && m.role === 'assistant' && Array.isArray(m.tool_calls) ? m.tool_calls.length : 0;
  return { toolUses, toolResults };
}

/** Responses API: the trailing run of `*_call` and `*_call_output` items. */
function responses(input: unknown[]): ToolCounts {
  let toolUses = 0;
  let toolResults = 0;
  for (let i = input.length - 1; i >= 0; i--) {
    const type = isObj(input[i]) ? String((input[i] as Json).type) : '';
    if (type.endsWith('_call_output')) {
      toolResults++;
    } else if (type.endsWith('_call')) {
      toolUses++;
    } else {
      break;
    }
  }
  return { toolUses, toolResults };
}

/** Gemini: the last content's functionResponse parts and the model's functionCall parts before it. */
function gemini(contents: unknown[]): ToolCounts {
  const parts = (c: unknown): Json[] => (isObj(c) ? blocks(c.parts) : []);
  const toolResults = parts(contents.at(-1)).filter((p) => isObj(p.functionResponse)).length;
  if (toolResults === 0) {
    return { toolUses: 0, toolResults: 0 };
  }
  return { toolUses: parts(contents.at(-2)).filter((p) => isObj(p.functionCall)).length, toolResults };
}
