// A path from a backup (raw bytes, maybe not UTF-8, maybe written by a hostile tenant) as it
// goes into a message: UTF-8 where it is (invalid bytes as U+FFFD), cut to 200 characters,
// quoted, so it cannot break a log line or a status message.
export function shownPath(path: Buffer): string {
  return JSON.stringify(path.toString('utf8').slice(0, 200));
}
