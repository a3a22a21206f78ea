// The plainest possible S3 PUT: one request, AWS Signature V4 with an unsigned payload, over a
// keep-alive agent. Used only for the put_s ceiling, so it has no retries.
import { createHash, createHmac } from 'node:crypto';
import { request, type Agent } from 'node:http';

export interface PutTarget {
  endpoint: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
}

const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();

export function putObject(t: PutTarget, key: string, body: Buffer, agent: Agent): Promise<void> {
  const url = new URL(`${t.endpoint}/${t.bucket}/${encodeURIComponent(key)}`);
  const amzDate = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
  const day = amzDate.slice(0, 8);
  const payload = 'UNSIGNED-PAYLOAD';
  const signed = 'host;x-amz-content-sha256;x-amz-date';
  const canonical = ['PUT', url.pathname, '', `host:${url.host}\nx-amz-content-sha256:${payload}\nx-amz-date:${amzDate}\n`, signed, payload].join('\n');
  const scope = `${day}/${t.region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${t.secretAccessKey}`, day), t.region), 's3'), 'aws4_request');
  const signature = hmac(signingKey, toSign).toString('hex');
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'PUT',
      agent,
      headers: {
        'content-length': body.length,
        'x-amz-content-sha256': payload,
        'x-amz-date': amzDate,
        authorization: `AWS4-HMAC-SHA256 Credential=${t.accessKeyId}/${scope}, SignedHeaders=${signed}, Signature=${signature}`,
      },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (s: string) => (text += s));
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`PUT ${key}: HTTP ${res.statusCode} ${text.slice(0, 300)}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}
