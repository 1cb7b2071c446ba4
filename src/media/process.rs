//! Upload checks and thumbnails. The format is read from the bytes (never from a file name or
//! a declared type), the dimensions from the header before anything is decoded, and decoding
//! runs on the blocking pool under memory limits, a deadline and a cap on concurrent work.
//! The picture is turned upright (EXIF orientation), cropped to a centred square and
//! re-encoded in [`AVATAR_SIZES`]: the encoders write pixels only, so EXIF, GPS positions and
//! any other metadata of the upload are gone.

use std::io::{Cursor, Read};
use std::sync::Arc;
use std::time::Duration;

use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use tokio::time::{Instant, timeout_at};

use super::{AVATAR_SIZES, AvatarKey, OutputFormat};
use crate::config::Config;
use crate::error::{AppError, AppResult};

/// Longest accepted side in pixels, whatever the pixel count.
pub const MAX_SIDE: u32 = 16_384;

/// Decoders may allocate this many bytes per accepted pixel (16-bit RGBA needs 8).
const ALLOC_BYTES_PER_PIXEL: u64 = 8;

/// JPEG quality of thumbnails.
const JPEG_QUALITY: u8 = 85;

const UNSUPPORTED: &str = "the file is not a JPEG, PNG, WebP or GIF image";
const DAMAGED: &str = "the image is damaged or truncated";

/// What uploads are checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageLimits {
    /// Largest file in bytes.
    pub max_bytes: usize,
    /// Largest image, width × height.
    pub max_pixels: u64,
    /// Deadline for waiting, decoding, resizing and encoding.
    pub timeout: Duration,
}

impl ImageLimits {
    /// The limits a configuration sets.
    pub fn from_config(config: &Config) -> Self {
        Self {
            max_bytes: config.max_upload_bytes,
            max_pixels: config.max_image_pixels,
            timeout: config.image_timeout,
        }
    }
}

/// The square images made from one upload, and the key they are stored under.
#[derive(Debug, Clone)]
pub struct AvatarImages {
    /// Their name: a hash of all their bytes.
    pub key: AvatarKey,
    /// `(size, encoded bytes)`, smallest first.
    pub images: Vec<(u32, Vec<u8>)>,
}

/// Runs image work on the blocking pool, at most one job per core at a time.
#[derive(Clone)]
pub struct ImageProcessor {
    limits: ImageLimits,
    permits: Arc<Semaphore>,
}

impl ImageProcessor {
    /// A processor with these limits.
    pub fn new(limits: ImageLimits) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            limits,
            permits: Arc::new(Semaphore::new(cores)),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> ImageLimits {
        self.limits
    }

    /// Reads an uploaded file, at most one byte past `limit` (so that a caller can tell it
    /// is too large without reading it all).
    pub async fn read_upload(&self, file: std::fs::File, limit: usize) -> AppResult<Vec<u8>> {
        let cap = limit as u64 + 1;
        tokio::task::spawn_blocking(move || {
            let mut bytes = Vec::new();
            file.take(cap).read_to_end(&mut bytes).map(|_| bytes)
        })
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)
    }

    /// Checks an upload and makes its avatar images, or says what is wrong with it.
    pub async fn avatar(&self, bytes: Vec<u8>) -> AppResult<AvatarImages> {
        if bytes.len() > self.limits.max_bytes {
            return Err(too_large_file(self.limits.max_bytes));
        }
        self.run(bytes, make_avatar).await
    }

    /// Checks an image attached to a message and makes its re-encoded copy and thumbnails.
    /// The caller checked its size against the attachment limit.
    pub async fn attachment(&self, bytes: Vec<u8>) -> AppResult<AttachmentImages> {
        self.run(bytes, make_attachment_images).await
    }

    /// Runs `work` on an image upload: on the blocking pool, one job per core, within the
    /// deadline.
    async fn run<T: Send + 'static>(
        &self,
        bytes: Vec<u8>,
        work: fn(&[u8], u64) -> AppResult<T>,
    ) -> AppResult<T> {
        if bytes.is_empty() {
            return Err(AppError::bad_input("the file is empty"));
        }
        // Refuse what is not an image before queueing for a permit.
        sniff(&bytes)?;
        let deadline = Instant::now() + self.limits.timeout;
        let permit = timeout_at(deadline, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| {
                AppError::rate_limited(
                    "too many pictures are being processed: try again",
                    std::time::Duration::from_secs(1),
                )
            })?
            .map_err(AppError::internal)?;
        let max_pixels = self.limits.max_pixels;
        let job = tokio::task::spawn_blocking(move || {
            // Held until the work really ends, even if the request stopped waiting for it.
            let _permit = permit;
            work(&bytes, max_pixels)
        });
        match timeout_at(deadline, job).await {
            Err(_) => Err(AppError::bad_input(
                "the image took too long to process: send a smaller or simpler one",
            )),
            Ok(Err(join)) => Err(AppError::internal(join)),
            Ok(Ok(result)) => result,
        }
    }
}

/// The file-size error.
pub fn too_large_file(max_bytes: usize) -> AppError {
    AppError::bad_input(format!(
        "the file is larger than the limit of {max_bytes} bytes"
    ))
}

/// The format, read from the first bytes; only the accepted ones.
pub fn sniff(bytes: &[u8]) -> AppResult<ImageFormat> {
    match image::guess_format(bytes) {
        Ok(
            format @ (ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP | ImageFormat::Gif),
        ) => Ok(format),
        _ => Err(AppError::bad_input(UNSUPPORTED)),
    }
}

fn too_many_pixels(max_pixels: u64) -> AppError {
    AppError::bad_input(format!(
        "the image is too large: at most {max_pixels} pixels, and {MAX_SIDE} on a side"
    ))
}

/// Maps a decoding error: a limit hit is the size rule, anything else a damaged file.
fn decode_error(err: ImageError, max_pixels: u64) -> AppError {
    match err {
        ImageError::Limits(_) => too_many_pixels(max_pixels),
        ImageError::Unsupported(_) => AppError::bad_input(UNSUPPORTED),
        other => {
            tracing::debug!(error = %other, "refused an image that does not decode");
            AppError::bad_input(DAMAGED)
        }
    }
}

/// Checks the dimensions a header declares.
pub fn check_dimensions(width: u32, height: u32, max_pixels: u64) -> AppResult<()> {
    if width == 0 || height == 0 {
        return Err(AppError::bad_input(DAMAGED));
    }
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > max_pixels {
        return Err(too_many_pixels(max_pixels));
    }
    Ok(())
}

/// Sniffs, checks the header, decodes within limits (a GIF's first frame) and turns the
/// picture upright.
fn decode_upright(bytes: &[u8], max_pixels: u64) -> AppResult<DynamicImage> {
    let format = sniff(bytes)?;
    let (width, height) = ImageReader::with_format(Cursor::new(bytes), format)
        .into_dimensions()
        .map_err(|e| decode_error(e, max_pixels))?;
    check_dimensions(width, height, max_pixels)?;

    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(max_pixels.saturating_mul(ALLOC_BYTES_PER_PIXEL));
    reader.limits(limits);
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| decode_error(e, max_pixels))?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut picture =
        DynamicImage::from_decoder(decoder).map_err(|e| decode_error(e, max_pixels))?;
    picture.apply_orientation(orientation);
    Ok(picture)
}

/// JPEG for an opaque picture, PNG (keeping the alpha channel) for one with transparency.
fn output_of(picture: DynamicImage) -> (OutputFormat, DynamicImage) {
    let rgba = picture.to_rgba8();
    if rgba.pixels().any(|p| p.0[3] < u8::MAX) {
        (OutputFormat::Png, DynamicImage::ImageRgba8(rgba))
    } else {
        (
            OutputFormat::Jpeg,
            DynamicImage::ImageRgb8(picture.to_rgb8()),
        )
    }
}

/// The whole synchronous pipeline: decode upright, crop, resize, encode, hash.
pub fn make_avatar(bytes: &[u8], max_pixels: u64) -> AppResult<AvatarImages> {
    let picture = decode_upright(bytes, max_pixels)?;
    let side = picture.width().min(picture.height());
    let square = picture.crop_imm(
        (picture.width() - side) / 2,
        (picture.height() - side) / 2,
        side,
        side,
    );
    drop(picture);
    let largest = AVATAR_SIZES[AVATAR_SIZES.len() - 1];
    let top = square.resize_exact(largest, largest, FilterType::CatmullRom);
    drop(square);

    let (format, top) = output_of(top);

    let mut images = Vec::with_capacity(AVATAR_SIZES.len());
    for &size in &AVATAR_SIZES {
        let scaled = if size == largest {
            top.clone()
        } else {
            top.resize_exact(size, size, FilterType::CatmullRom)
        };
        images.push((size, encode(&scaled, format)?));
    }

    let mut hasher = Sha256::new();
    hasher.update(format.extension().as_bytes());
    for (size, bytes) in &images {
        hasher.update(size.to_be_bytes());
        hasher.update((bytes.len() as u64).to_be_bytes());
        hasher.update(bytes);
    }
    Ok(AvatarImages {
        key: AvatarKey::from_digest(&hasher.finalize(), format),
        images,
    })
}

/// An image attached to a message, re-encoded without metadata, with its thumbnails.
#[derive(Debug, Clone)]
pub struct AttachmentImages {
    /// JPEG, or PNG for pictures with transparency.
    pub format: OutputFormat,
    /// Width of the upright picture.
    pub width: u32,
    /// Height of the upright picture.
    pub height: u32,
    /// The picture at its own size.
    pub full: Vec<u8>,
    /// `(width, height, bytes)` of each thumbnail narrower than the picture, smallest first.
    pub thumbnails: Vec<(u32, u32, Vec<u8>)>,
}

/// Decodes an attached image upright and encodes it again at its own size and at each
/// thumbnail width narrower than it, keeping its proportions.
pub fn make_attachment_images(bytes: &[u8], max_pixels: u64) -> AppResult<AttachmentImages> {
    let picture = decode_upright(bytes, max_pixels)?;
    let (format, picture) = output_of(picture);
    let (width, height) = (picture.width(), picture.height());
    let mut thumbnails = Vec::new();
    for (w, h) in super::attachments::thumbnail_sizes(width, height) {
        let scaled = picture.resize_exact(w, h, FilterType::CatmullRom);
        thumbnails.push((w, h, encode(&scaled, format)?));
    }
    Ok(AttachmentImages {
        format,
        width,
        height,
        full: encode(&picture, format)?,
        thumbnails,
    })
}

fn encode(image: &DynamicImage, format: OutputFormat) -> AppResult<Vec<u8>> {
    let mut out = Vec::new();
    let result = match format {
        OutputFormat::Jpeg => image.write_with_encoder(
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY),
        ),
        OutputFormat::Png => {
            image.write_with_encoder(image::codecs::png::PngEncoder::new(&mut out))
        }
    };
    result.map_err(AppError::internal)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32, alpha: u8) -> Vec<u8> {
        let img = image::RgbaImage::from_fn(width, height, |x, y| {
            image::Rgba([(x % 256) as u8, (y % 256) as u8, 90, alpha])
        });
        let mut out = Vec::new();
        DynamicImage::ImageRgba8(img)
            .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .expect("encoding a test image");
        out
    }

    #[test]
    fn opaque_pictures_become_jpeg_and_transparent_ones_png() {
        let opaque = make_avatar(&png(300, 200, 255), 1_000_000).expect("valid");
        assert_eq!(opaque.key.format(), OutputFormat::Jpeg);
        let sizes: Vec<u32> = opaque.images.iter().map(|(s, _)| *s).collect();
        assert_eq!(sizes, AVATAR_SIZES);
        for (size, bytes) in &opaque.images {
            let decoded = image::load_from_memory(bytes).expect("decodes");
            assert_eq!((decoded.width(), decoded.height()), (*size, *size));
        }
        let clear = make_avatar(&png(40, 40, 128), 1_000_000).expect("valid");
        assert_eq!(clear.key.format(), OutputFormat::Png);
    }

    #[test]
    fn the_same_picture_gets_the_same_key() {
        let a = make_avatar(&png(120, 90, 255), 1_000_000).expect("valid");
        let b = make_avatar(&png(120, 90, 255), 1_000_000).expect("valid");
        let c = make_avatar(&png(90, 120, 255), 1_000_000).expect("valid");
        assert_eq!(a.key, b.key);
        assert_ne!(a.key, c.key);
    }

    #[test]
    fn attached_images_keep_their_proportions_and_get_smaller_thumbnails() {
        let made = make_attachment_images(&png(1500, 600, 255), 10_000_000).expect("valid");
        assert_eq!(
            (made.format, made.width, made.height),
            (OutputFormat::Jpeg, 1500, 600)
        );
        let sizes: Vec<(u32, u32)> = made.thumbnails.iter().map(|(w, h, _)| (*w, *h)).collect();
        assert_eq!(sizes, [(320, 128), (1024, 409)]);
        let small = make_attachment_images(&png(200, 100, 128), 10_000_000).expect("valid");
        assert_eq!(small.format, OutputFormat::Png);
        assert!(
            small.thumbnails.is_empty(),
            "no thumbnail wider than the picture"
        );
    }

    #[test]
    fn dimensions_are_checked() {
        assert!(check_dimensions(100, 100, 10_000).is_ok());
        assert!(check_dimensions(101, 100, 10_000).is_err());
        assert!(check_dimensions(0, 100, 10_000).is_err());
        assert!(check_dimensions(MAX_SIDE + 1, 1, u64::MAX).is_err());
        let err = make_avatar(&png(200, 200, 255), 100 * 100).expect_err("too many pixels");
        assert_eq!(err.code(), "BAD_USER_INPUT");
    }
}
