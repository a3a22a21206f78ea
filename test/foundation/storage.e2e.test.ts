// Real MinIO: each tenant's credentials reach its own bucket and nothing else.
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, inject, it } from 'vitest';
import { s3As } from '../harness/clients.ts';

const cluster = inject('cluster');

describe('tenant storage in MinIO', () => {
  it("team-a's credentials write and read its own bucket", async () => {
    const s3 = s3As(cluster, 'team-a');
    await s3.send(new PutObjectCommand({ Bucket: 'team-a', Key: 'probe/hello.txt', Body: 'hello' }));
    const got = await s3.send(new GetObjectCommand({ Bucket: 'team-a', Key: 'probe/hello.txt' }));
    expect(await got.Body?.transformToString()).toBe('hello');
  });

  it("team-a's credentials get AccessDenied on team-b's bucket", async () => {
    const s3 = s3As(cluster, 'team-a');
    await expect(s3.send(new PutObjectCommand({ Bucket: 'team-b', Key: 'intrusion.txt', Body: 'x' }))).rejects.toMatchObject({ name: 'AccessDenied' });
    await s3As(cluster, 'team-b').send(new PutObjectCommand({ Bucket: 'team-b', Key: 'secret.txt', Body: 'b' }));
    await expect(s3.send(new GetObjectCommand({ Bucket: 'team-b', Key: 'secret.txt' }))).rejects.toMatchObject({ name: 'AccessDenied' });
  });
});
