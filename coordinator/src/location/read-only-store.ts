// The store of a ReadOnly BackupStorageLocation: reads and lists pass through, every write,
// delete and multipart abort is refused before any request is made. So whatever uses a ReadOnly
// location's store (the sync loop, a restore) cannot write to the bucket by mistake.
import { CairnError } from '../../../common/src/errors.ts';
import type { ObjectStore } from '../../../common/src/store/object-store.ts';

export function readOnlyStore(store: ObjectStore, location: string): ObjectStore {
  const refuse = (op: string) => (): Promise<never> =>
    Promise.reject(new CairnError('CAIRN_E_INVALID_ARGUMENT', `${op} refused: BackupStorageLocation ${location} is ReadOnly and Cairn never writes to or deletes from it`));
  return {
    bucket: store.bucket,
    prefix: store.prefix,
    getObject: (key, opts) => store.getObject(key, opts),
    getObjectStream: (key, opts) => store.getObjectStream(key, opts),
    headObject: (key, opts) => store.headObject(key, opts),
    list: (prefix, opts) => store.list(prefix, opts),
    listMultipartUploads: (prefix, opts) => store.listMultipartUploads(prefix, opts),
    checkBucket: (opts) => store.checkBucket(opts),
    close: () => store.close(),
    putObject: refuse('putObject'),
    upload: refuse('upload'),
    deleteObject: refuse('deleteObject'),
    deleteObjects: refuse('deleteObjects'),
    abortMultipartUpload: refuse('abortMultipartUpload'),
  };
}
