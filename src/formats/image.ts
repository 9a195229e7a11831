/**
 * Images as the trainers see them: 8-bit RGB, row-major HWC. PNG (pngjs) and JPEG (jpeg-js) are
 * decoded by their magic bytes; alpha is dropped and grey expanded.
 */
import {FormatError} from './errors'

export interface RgbImage {
  width: number
  height: number
  /** width × height × 3 bytes, row-major */
  data: Uint8Array
}

const isPng = (b: Uint8Array) => b.length > 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47
const isJpeg = (b: Uint8Array) => b.length > 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff

function rgbaToRgb(rgba: Uint8Array, width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3)
  for (let i = 0, j = 0; i < width * height; i++, j += 4) {
    data[i * 3] = rgba[j]
    data[i * 3 + 1] = rgba[j + 1]
    data[i * 3 + 2] = rgba[j + 2]
  }
  return {width, height, data}
}

export function decodeImage(bytes: Uint8Array, source = '<image>'): RgbImage {
  try {
    if (isPng(bytes)) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const {PNG} = require('pngjs') as typeof import('pngjs')
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
      return rgbaToRgb(png.data, png.width, png.height)
    }
    if (isJpeg(bytes)) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const jpeg = require('jpeg-js') as typeof import('jpeg-js')
      const image = jpeg.decode(bytes, {useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 1024})
      return rgbaToRgb(image.data, image.width, image.height)
    }
  } catch (error) {
    throw new FormatError(source, `cannot decode image: ${(error as Error).message}`, {cause: error})
  }
  throw new FormatError(source, 'not a PNG or JPEG image', {hint: 'Images must be PNG or JPEG files (or their bytes).'})
}

export function encodePng(image: RgbImage): Uint8Array {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const {PNG} = require('pngjs') as typeof import('pngjs')
  const png = new PNG({width: image.width, height: image.height, colorType: 2, inputColorType: 2, inputHasAlpha: false})
  png.data = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength)
  // one fixed filter: pngjs otherwise tries all five per row, which dominated dataset generation
  return PNG.sync.write(png, {colorType: 2, inputColorType: 2, inputHasAlpha: false, filterType: 4})
}

/** Bilinear resize (pixel centres aligned, like PIL's BILINEAR when upsampling). */
export function resizeImage(image: RgbImage, width: number, height: number): RgbImage {
  if (width === image.width && height === image.height) return image
  const data = new Uint8Array(width * height * 3)
  const sx = image.width / width
  const sy = image.height / height
  for (let y = 0; y < height; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), image.height - 1)
    const y0 = Math.floor(fy)
    const y1 = Math.min(y0 + 1, image.height - 1)
    const wy = fy - y0
    for (let x = 0; x < width; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), image.width - 1)
      const x0 = Math.floor(fx)
      const x1 = Math.min(x0 + 1, image.width - 1)
      const wx = fx - x0
      for (let c = 0; c < 3; c++) {
        const p = (yy: number, xx: number) => image.data[(yy * image.width + xx) * 3 + c]
        const top = p(y0, x0) * (1 - wx) + p(y0, x1) * wx
        const bottom = p(y1, x0) * (1 - wx) + p(y1, x1) * wx
        data[(y * width + x) * 3 + c] = Math.round(top * (1 - wy) + bottom * wy)
      }
    }
  }
  return {width, height, data}
}

/** Scales an image (keeping its aspect ratio) so that its pixel count lies within [minPixels, maxPixels]. */
export function fitPixels(image: RgbImage, bounds: {minPixels?: number; maxPixels?: number}): RgbImage {
  const pixels = image.width * image.height
  let scale = 1
  if (bounds.maxPixels && pixels > bounds.maxPixels) scale = Math.sqrt(bounds.maxPixels / pixels)
  else if (bounds.minPixels && pixels < bounds.minPixels) scale = Math.sqrt(bounds.minPixels / pixels)
  if (scale === 1) return image
  let width = Math.max(1, Math.round(image.width * scale))
  let height = Math.max(1, Math.round(image.height * scale))
  // rounding must not step outside the bounds
  while (bounds.maxPixels && width * height > bounds.maxPixels && width > 1 && height > 1) width > height ? width-- : height--
  while (bounds.minPixels && width * height < bounds.minPixels) width < height ? width++ : height++
  return resizeImage(image, width, height)
}

export function imageToFloat(image: RgbImage): Float32Array {
  const out = new Float32Array(image.data.length)
  for (let i = 0; i < out.length; i++) out[i] = image.data[i] / 255
  return out
}

export function floatToImage(data: Float32Array, width: number, height: number): RgbImage {
  if (data.length !== width * height * 3) throw new Error(`floatToImage: ${data.length} values is not ${width}×${height}×3`)
  const out = new Uint8Array(data.length)
  for (let i = 0; i < out.length; i++) out[i] = Math.round(Math.min(1, Math.max(0, data[i])) * 255)
  return {width, height, data: out}
}
