// @oclif/core, bundled into one file (dist/src/vendor/oclif-core.js) by scripts/bundle-vendor.js for
// start-up speed; rfm's code imports oclif from here. The types are the package's own.
export * from '@oclif/core'
