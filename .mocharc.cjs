// `npx mocha` (npm test) runs every test; `npx mocha dist/test/x/y.test.js ...` runs only the files named.
'use strict';
const named = process.argv.slice(2).some((a) => !a.startsWith('-') && /\.test\.js$|dist\/test\//.test(a));
module.exports = {
  spec: named ? [] : ['dist/test/**/*.test.js'],
  recursive: true,
  timeout: 20000,
  exit: false,
};
