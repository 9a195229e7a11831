// yaml, bundled into one file (dist/src/vendor/yaml.js) by scripts/bundle-vendor.js for start-up
// speed; rfm's code imports yaml from here. The types are the package's own.
export * from 'yaml'
