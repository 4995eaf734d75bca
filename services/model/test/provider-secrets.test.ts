import { describe, expect, it } from 'vitest';
import { ModelProviderError, OpenAiCompatibleProvider } from '@multi-agent/model-service';

describe('OpenAI-compatible provider errors', () => {
  it('keep credentials written into MODEL_BASE_URL out of the message', async () => {
    const provider = new OpenAiCompatibleProvider({ baseUrl: 'http://bob:sk-live-123@127.0.0.1:9/v1', apiKey: 'sk-key-456', model: 'm' });
    let failure: unknown;
    try {
      for await (const token of provider.stream({ prompt: 'x' })) expect(token).toBeUndefined();
    } catch (err) {
      failure = err;
    }
    expect(failure).toBeInstanceOf(ModelProviderError);
    expect(failure).toMatchObject({ code: 'MODEL_UNREACHABLE' });
    const message = (failure as Error).message;
    expect(message).toContain('http://***@127.0.0.1:9/v1/chat/completions');
    expect(message).not.toContain('sk-live-123');
    expect(message).not.toContain('sk-key-456');
  });
});
