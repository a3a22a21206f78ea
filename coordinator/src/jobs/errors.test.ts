import { describe, expect, it } from 'vitest';
import { CairnError } from '../../../common/src/errors.ts';
import { describeError } from './errors.ts';

describe('describeError', () => {
  it("keeps a CairnError's code and message", () => {
    expect(describeError(new CairnError('CAIRN_E_BUSY', 'node full'), 'PVC x')).toEqual({ code: 'CAIRN_E_BUSY', message: 'PVC x: node full' });
  });

  it("turns a client-node API error into the API server's message, without headers or body dumps", () => {
    const err = Object.assign(new Error('HTTP-Code: 404\nMessage: Unknown API Status Code!\nBody: ...\nHeaders: {"audit-id":"x"}'), {
      code: 404, body: JSON.stringify({ kind: 'Status', message: 'pods "p" not found', code: 404 }),
    });
    expect(describeError(err)).toEqual({ code: 'CAIRN_E_NOT_FOUND', message: 'the Kubernetes API answered HTTP 404: pods "p" not found' });
  });

  it('names anything else by its type only', () => {
    expect(describeError(new TypeError('secret detail'))).toEqual({ code: 'CAIRN_E_INTERNAL', message: 'unexpected TypeError' });
  });
});
