// Changelog lines for `changeset version`. The project's changesets are written as bullet lists (one bullet
// per change a user could notice); the stock generator would wrap such a list in one more bullet ("- - ...").
// A summary that is already a list is kept as written; a paragraph becomes one bullet.
const getReleaseLine = async (changeset) => {
  const summary = changeset.summary.trim()
  if (/^[-*] /.test(summary)) return `\n${summary}`
  const [first, ...rest] = summary.split("\n")
  return `\n- ${first}${rest.map((line) => (line === "" ? "" : `\n  ${line}`)).join("")}`
}

// A single-package repository: no internal dependency updates to report.
const getDependencyReleaseLine = async () => ""

module.exports = { default: { getReleaseLine, getDependencyReleaseLine } }
