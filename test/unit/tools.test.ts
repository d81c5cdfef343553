import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { countTools } from '../../src/core/proxy/tools';

describe('tool counts of the newest turn', () => {
  it('Anthropic: counts the last tool_use/tool_result exchange, not the history', () => {
    const old = [
      { role: 'assistant', content: [{ type: 'tool_use', id: 'a' }, { type: 'tool_use', id: 'b' }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'a' }, { type: 'tool_result', tool_use_id: 'b' }] },
    ];
    const newest = [
      { role: 'assistant', content: [{ type: 'text', text: 'checking' }, { type: 'tool_use', id: 'c' }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'c' }] },
    ];
    assert.deepEqual(countTools({ messages: [{ role: 'user', content: 'go' }, ...old, ...newest] }), { toolUses: 1, toolResults: 1 });
    assert.deepEqual(countTools({ messages: [{ role: 'user', content: 'go' }, ...old, { role: 'assistant', content: 'done' }, { role: 'user', content: 'thanks' }] }), {
      toolUses: 0,
      toolResults: 0,
    });
  });

  it('OpenAI chat: trailing tool messages and the assistant tool_calls they answer', () => {
    const messages = [
      { role: 'user', content: 'go' },
      { role: 'assistant', tool_calls: [{ id: '1' }] },
      { role: 'tool', tool_call_id: '1', content: 'r' },
      { role: 'assistant', tool_calls: [{ id: '2' }, { id: '3' }] },
      { role: 'tool', tool_call_id: '2', content: 'r' },
      { role: 'tool', tool_call_id: '3', content: 'r' },
    ];
    assert.deepEqual(countTools({ messages }), { toolUses: 2, toolResults: 2 });
    assert.deepEqual(countTools({ messages: messages.slice(0, 1) }), { toolUses: 0, toolResults: 0 });
  });

  it('Responses API: the trailing run of *_call and *_call_output items', () => {
    const input = [
      { type: 'message', role: 'user', content: 'go' },
      { type: 'function_call', call_id: '1' },
      { type: 'function_call_output', call_id: '1' },
      { type: 'message', role: 'assistant', content: 'next' },
      { type: 'custom_tool_call', call_id: '2' },
      { type: 'custom_tool_call_output', call_id: '2' },
      { type: 'function_call', call_id: '3' },
      { type: 'function_call_output', call_id: '3' },
    ];
    assert.deepEqual(countTools({ input }), { toolUses: 2, toolResults: 2 });
    assert.deepEqual(countTools({ input: 'plain string' }), { toolUses: 0, toolResults: 0 });
  });

  it('Gemini: functionResponse parts of the last content and functionCall parts before it', () => {
    const contents = [
      { role: 'user', parts: [{ text: 'go' }] },
      { role: 'model', parts: [{ functionCall: { name: 'a' } }, { functionCall: { name: 'b' } }] },
      { role: 'user', parts: [{ functionResponse: { name: 'a' } }, { functionResponse: { name: 'b' } }] },
    ];
    assert.deepEqual(countTools({ contents }), { toolUses: 2, toolResults: 2 });
  });
});
