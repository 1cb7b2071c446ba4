//! Profile pictures: multipart uploads of real images in every accepted format, metadata
//! stripped, refused files with typed errors and nothing stored, content-addressed URLs,
//! `/media` caching headers, who may change whose picture, the sweep, and S3 against a real
//! S3-compatible server (moto, started here).

use std::io::Cursor;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use futures_util::TryStreamExt;
use image::{DynamicImage, ImageFormat, Rgba, RgbaImage};
use messenger::config::S3Config;
use messenger::media::AVATAR_SIZES;
use messenger::services::avatars;
use object_store::ObjectStoreExt;
use serde_json::{Value, json};

use crate::harness::{Answer, ChildLog, TestApp, error_code, ok_data, skip_or_fail};

const UPLOAD: &str = "mutation($file: Upload!) { uploadAvatar(file: $file) { id avatar { images { width height url contentType } url(size: 100) } } }";
const AVATAR_OF: &str =
    "query($id: ID!) { user(id: $id) { avatar { images { width height url contentType } } } }";
const REMOVE: &str = "mutation($id: ID) { removeAvatar(userId: $id) { id avatar { url } } }";

// ---------------------------------------------------------------------------------------
// Images made here, in every accepted format.

/// A picture whose left half is red and right half blue, with an opaque or a see-through
/// top row.
fn picture(width: u32, height: u32, alpha: u8) -> RgbaImage {
    RgbaImage::from_fn(width, height, |x, y| {
        let a = if y == 0 { alpha } else { 255 };
        if x < width / 2 {
            Rgba([220, 20, 30, a])
        } else {
            Rgba([20, 30, 220, a])
        }
    })
}

fn encode(image: DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut out), format)
        .expect("encoding a test image");
    out
}

pub fn jpeg(width: u32, height: u32) -> Vec<u8> {
    encode(
        DynamicImage::ImageRgb8(DynamicImage::ImageRgba8(picture(width, height, 255)).to_rgb8()),
        ImageFormat::Jpeg,
    )
}

pub fn png(width: u32, height: u32, alpha: u8) -> Vec<u8> {
    encode(
        DynamicImage::ImageRgba8(picture(width, height, alpha)),
        ImageFormat::Png,
    )
}

fn webp(width: u32, height: u32) -> Vec<u8> {
    encode(
        DynamicImage::ImageRgba8(picture(width, height, 255)),
        ImageFormat::WebP,
    )
}

/// A two-frame GIF: a green first frame, then a red one. Only the first counts.
pub fn gif(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = image::codecs::gif::GifEncoder::new(&mut out);
        for colour in [Rgba([10, 200, 20, 255]), Rgba([200, 10, 20, 255])] {
            let frame = image::Frame::new(RgbaImage::from_pixel(width, height, colour));
            encoder.encode_frame(frame).expect("encoding a GIF frame");
        }
    }
    out
}

pub const GPS_MARKER: &str = "SECRET-GPS-MARKER";
/// 48° 51' 24.33": written as rationals, so their bytes can be looked for.
const LATITUDE: [(u32, u32); 3] = [(48, 1), (51, 1), (2433, 100)];

/// A TIFF/EXIF block (little-endian): IFD0 with a description, orientation 6 (turn 90°
/// clockwise to view) and a pointer to a GPS IFD holding latitude and longitude.
fn exif_block() -> Vec<u8> {
    let entry = |out: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: u32| {
        out.extend(tag.to_le_bytes());
        out.extend(kind.to_le_bytes());
        out.extend(count.to_le_bytes());
        out.extend(value.to_le_bytes());
    };
    const ASCII: u16 = 2;
    const SHORT: u16 = 3;
    const LONG: u16 = 4;
    const RATIONAL: u16 = 5;
    let ifd0_at = 8u32;
    let gps_at = ifd0_at + 2 + 3 * 12 + 4;
    let text_at = gps_at + 2 + 4 * 12 + 4;
    let text = format!("{GPS_MARKER}\0");
    let lat_at = text_at + text.len() as u32 + (text.len() as u32 % 2);
    let lon_at = lat_at + 24;

    let mut tiff = b"II*\0".to_vec();
    tiff.extend(ifd0_at.to_le_bytes());
    tiff.extend(3u16.to_le_bytes());
    entry(&mut tiff, 0x010E, ASCII, text.len() as u32, text_at);
    entry(&mut tiff, 0x0112, SHORT, 1, 6);
    entry(&mut tiff, 0x8825, LONG, 1, gps_at);
    tiff.extend(0u32.to_le_bytes());
    assert_eq!(tiff.len() as u32, gps_at);
    tiff.extend(4u16.to_le_bytes());
    entry(&mut tiff, 0x0001, ASCII, 2, u32::from(b'N'));
    entry(&mut tiff, 0x0002, RATIONAL, 3, lat_at);
    entry(&mut tiff, 0x0003, ASCII, 2, u32::from(b'E'));
    entry(&mut tiff, 0x0004, RATIONAL, 3, lon_at);
    tiff.extend(0u32.to_le_bytes());
    assert_eq!(tiff.len() as u32, text_at);
    tiff.extend(text.as_bytes());
    tiff.resize(lat_at as usize, 0);
    for (n, d) in LATITUDE.iter().chain([(2, 1), (17, 1), (4000, 100)].iter()) {
        tiff.extend(n.to_le_bytes());
        tiff.extend(d.to_le_bytes());
    }
    tiff
}

fn latitude_bytes() -> Vec<u8> {
    LATITUDE
        .iter()
        .flat_map(|(n, d)| n.to_le_bytes().into_iter().chain(d.to_le_bytes()))
        .collect()
}

/// A JPEG with an EXIF APP1 segment spliced in right after its start-of-image marker.
pub fn jpeg_with_gps(width: u32, height: u32) -> Vec<u8> {
    let plain = jpeg(width, height);
    assert_eq!(&plain[..2], [0xFF, 0xD8]);
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend(exif_block());
    let mut out = plain[..2].to_vec();
    out.extend([0xFF, 0xE1]);
    out.extend(
        u16::try_from(payload.len() + 2)
            .expect("fits")
            .to_be_bytes(),
    );
    out.extend(payload);
    out.extend(&plain[2..]);
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A valid PNG signature and header declaring `width` × `height`, and almost no data: a
/// decompression bomb's shape.
pub fn png_declaring(width: u32, height: u32) -> Vec<u8> {
    let chunk = |out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]| {
        out.extend(u32::try_from(data.len()).expect("fits").to_be_bytes());
        let mut body = kind.to_vec();
        body.extend(data);
        out.extend(&body);
        out.extend(crc32(&body).to_be_bytes());
    };
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend(width.to_be_bytes());
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, 6, 0, 0, 0]); // 8-bit RGBA
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

// ---------------------------------------------------------------------------------------
// Requests.

pub const BOUNDARY: &str = "----messenger-test-boundary-7MA4YWxkTrZu0gW";

/// A GraphQL multipart request (operations, map, one file at `variables.file`).
pub fn multipart_body(query: &str, filename: &str, content_type: &str, file: &[u8]) -> Vec<u8> {
    let operations = json!({ "query": query, "variables": { "file": null } }).to_string();
    let map = json!({ "0": ["variables.file"] }).to_string();
    let mut body = Vec::new();
    for (name, value) in [("operations", operations), ("map", map)] {
        body.extend(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"0\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend(file);
    body.extend(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn multipart_request(
    token: Option<&str>,
    preflight: bool,
    filename: &str,
    file: &[u8],
) -> Request<Body> {
    let mut request = Request::post("/graphql")
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header(header::ACCEPT, "application/json");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    if preflight {
        request = request.header("apollo-require-preflight", "true");
    }
    request
        .body(Body::from(multipart_body(
            UPLOAD,
            filename,
            "image/png",
            file,
        )))
        .expect("request")
}

/// Uploads a file as `token`'s avatar, as apollo-upload-client would.
pub async fn upload(app: &TestApp, token: &str, filename: &str, file: &[u8]) -> Value {
    app.send(multipart_request(Some(token), true, filename, file))
        .await
        .ok_json()
}

/// The avatar images of an upload's answer: `(size, url, content type)`.
fn images(response: &Value) -> Vec<(u64, String, String)> {
    let images = response["data"]["uploadAvatar"]["avatar"]["images"]
        .as_array()
        .unwrap_or_else(|| panic!("no avatar images in {response}"));
    images
        .iter()
        .map(|i| {
            assert_eq!(i["width"], i["height"], "square");
            (
                i["width"].as_u64().expect("width"),
                i["url"].as_str().expect("url").to_owned(),
                i["contentType"].as_str().expect("type").to_owned(),
            )
        })
        .collect()
}

pub async fn get(app: &TestApp, url: &str, if_none_match: Option<&str>) -> Answer {
    let mut request = Request::get(url);
    if let Some(tag) = if_none_match {
        request = request.header(header::IF_NONE_MATCH, tag);
    }
    app.send(request.body(Body::empty()).expect("request"))
        .await
}

/// The names of every object in the app's store.
pub async fn stored(app: &TestApp) -> Vec<String> {
    let mut names: Vec<String> = app
        .state
        .media
        .store
        .object_store()
        .list(None)
        .map_ok(|meta| meta.location.to_string())
        .try_collect()
        .await
        .expect("listing the store");
    names.sort();
    names
}

pub fn header(answer: &Answer, name: header::HeaderName) -> &str {
    answer
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn path_of(url: &str) -> &str {
    url.split_once("/media/").expect("a /media URL").1
}

// ---------------------------------------------------------------------------------------
// Tests.

#[tokio::test(flavor = "multi_thread")]
async fn every_accepted_format_becomes_square_thumbnails_served_from_media() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let cases: [(&str, Vec<u8>, &str); 5] = [
        ("photo.jpg", jpeg(300, 200), "image/jpeg"),
        ("drawing.png", png(120, 160, 255), "image/jpeg"),
        ("sticker.png", png(160, 120, 0), "image/png"),
        ("photo.webp", webp(200, 300), "image/jpeg"),
        ("animated.gif", gif(80, 80), "image/jpeg"),
    ];
    for (filename, bytes, output_type) in cases {
        let response = upload(&app, &alice.access, filename, &bytes).await;
        assert_eq!(
            response["data"]["uploadAvatar"]["id"], alice.id,
            "{filename}: {response}"
        );
        let images = images(&response);
        let sizes: Vec<u64> = images.iter().map(|i| i.0).collect();
        assert_eq!(sizes, AVATAR_SIZES.map(u64::from), "{filename}");
        // `url(size: 100)` is the smallest image at least 100 wide.
        assert_eq!(
            response["data"]["uploadAvatar"]["avatar"]["url"],
            images[1].1.as_str()
        );
        for (size, url, content_type) in &images {
            assert_eq!(content_type, output_type, "{filename}");
            assert!(url.starts_with("/media/avatars/"), "{url}");
            let answer = get(&app, url, None).await;
            assert_eq!(answer.status, StatusCode::OK, "{filename} {url}");
            assert_eq!(answer.content_type(), output_type);
            let decoded = image::load_from_memory(&answer.body).expect("a real image");
            assert_eq!(
                (decoded.width(), decoded.height()),
                (*size as u32, *size as u32)
            );
            let format = image::guess_format(&answer.body).expect("a known format");
            let expected = if output_type == "image/png" {
                ImageFormat::Png
            } else {
                ImageFormat::Jpeg
            };
            assert_eq!(format, expected);
            if filename.ends_with(".gif") {
                // The first frame (green), not the second (red).
                let centre = decoded
                    .to_rgb8()
                    .get_pixel(*size as u32 / 2, *size as u32 / 2)
                    .0;
                assert!(centre[1] > 150 && centre[0] < 80, "{centre:?}");
            }
        }
        // Everyone signed in sees it.
        let seen = app
            .gql(Some(&alice.access), AVATAR_OF, json!({ "id": alice.id }))
            .await;
        assert_eq!(
            seen["data"]["user"]["avatar"]["images"][0]["url"],
            images[0].1.as_str()
        );
    }
    // Each replacement deleted the picture before it: one avatar's three objects remain.
    assert_eq!(stored(&app).await.len(), AVATAR_SIZES.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn exif_and_gps_are_stripped_and_the_orientation_applied() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    // Stored sideways: left red, right blue, 400 × 200. Orientation 6 says "turn it 90°
    // clockwise to view", which puts red on top and blue at the bottom.
    let original = jpeg_with_gps(400, 200);
    let contains =
        |haystack: &[u8], needle: &[u8]| haystack.windows(needle.len()).any(|w| w == needle);
    assert!(contains(&original, GPS_MARKER.as_bytes()));
    assert!(contains(&original, &latitude_bytes()));
    assert!(
        image::ImageReader::new(Cursor::new(&original))
            .with_guessed_format()
            .expect("reads")
            .decode()
            .is_ok(),
        "the spliced JPEG is valid"
    );

    let response = upload(&app, &alice.access, "holiday.jpg", &original).await;
    let images = images(&response);
    let mut stored_bytes = Vec::new();
    for name in stored(&app).await {
        let bytes = app
            .state
            .media
            .store
            .object_store()
            .get(&name.as_str().into())
            .await
            .expect("stored object")
            .bytes()
            .await
            .expect("bytes");
        stored_bytes.push(bytes.to_vec());
    }
    for (_, url, _) in &images {
        let served = get(&app, url, None).await;
        assert_eq!(served.status, StatusCode::OK, "{url}");
        stored_bytes.push(served.body.to_vec());
    }
    assert_eq!(stored_bytes.len(), 2 * AVATAR_SIZES.len());
    for bytes in &stored_bytes {
        assert!(!contains(bytes, b"Exif"), "no EXIF segment");
        assert!(!contains(bytes, GPS_MARKER.as_bytes()), "no EXIF text");
        assert!(!contains(bytes, &latitude_bytes()), "no GPS position");
        assert!(!contains(bytes, b"II*\0"), "no TIFF block");
    }
    let top = image::load_from_memory(&get(&app, &images[2].1, None).await.body)
        .expect("decodes")
        .to_rgb8();
    let (upper, lower) = (top.get_pixel(256, 100).0, top.get_pixel(256, 412).0);
    assert!(upper[0] > 150 && upper[2] < 100, "red on top: {upper:?}");
    assert!(lower[2] > 150 && lower[0] < 100, "blue below: {lower:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_files_get_typed_errors_and_nothing_is_stored() {
    let app = TestApp::spawn_with(|c| {
        c.max_upload_bytes = 64 * 1024;
        c.max_attachment_bytes = 64 * 1024;
        c.max_image_pixels = 4_000_000;
    })
    .await;
    let alice = app.register("alice").await;
    let before = app.fingerprint().await;

    let whole = png(64, 64, 255);
    let mut noisy = RgbaImage::new(300, 300);
    for (i, p) in noisy.pixels_mut().enumerate() {
        let v = (i as u32).wrapping_mul(2_654_435_761);
        *p = Rgba(v.to_le_bytes());
    }
    let oversized = encode(DynamicImage::ImageRgba8(noisy), ImageFormat::Png);
    assert!(oversized.len() > 64 * 1024);
    let cases: [(&str, Vec<u8>, &str); 6] = [
        (
            "truncated.png",
            whole[..whole.len() / 2].to_vec(),
            "damaged or truncated",
        ),
        (
            "truncated.jpg",
            jpeg(200, 200)[..400].to_vec(),
            "damaged or truncated",
        ),
        (
            "notes.png",
            b"just some text, renamed to look like a picture\n".repeat(20),
            "not a JPEG, PNG, WebP or GIF",
        ),
        ("empty.png", Vec::new(), "empty"),
        ("bomb.png", png_declaring(100_000, 100_000), "too large"),
        ("wide.png", png_declaring(20_000, 1), "too large"),
    ];
    for (filename, bytes, message) in cases {
        let response = upload(&app, &alice.access, filename, &bytes).await;
        assert_eq!(
            error_code(&response),
            Some("BAD_USER_INPUT"),
            "{filename}: {response}"
        );
        let text = response["errors"][0]["message"].as_str().unwrap_or("");
        assert!(text.contains(message), "{filename}: {text}");
    }
    // Larger than the upload limit: refused while reading the request, with a typed error.
    let answer = app
        .send(multipart_request(
            Some(&alice.access),
            true,
            "big.png",
            &oversized,
        ))
        .await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_code(&answer.json()), Some("BAD_USER_INPUT"));
    assert!(
        answer.json()["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("65536")
    );
    // Larger than a picture may be but within what an attachment may: refused by the
    // mutation, with the picture limit in the message.
    let roomy = TestApp::spawn_with(|c| c.max_upload_bytes = 64 * 1024).await;
    let bob = roomy.register("bob").await;
    let refused = upload(&roomy, &bob.access, "big.png", &oversized).await;
    assert_eq!(error_code(&refused), Some("BAD_USER_INPUT"), "{refused}");
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("65536")
    );
    assert!(stored(&roomy).await.is_empty());

    assert_eq!(app.fingerprint().await, before, "the database is unchanged");
    assert!(stored(&app).await.is_empty(), "nothing was stored");
    let me = app
        .gql(Some(&alice.access), AVATAR_OF, json!({ "id": alice.id }))
        .await;
    let user = &ok_data(&me)["user"];
    assert!(user.is_object() && user["avatar"].is_null(), "{me}");
}

#[tokio::test(flavor = "multi_thread")]
async fn decoding_is_bounded_in_time() {
    let app = TestApp::spawn_with(|c| c.image_timeout = Duration::from_millis(1)).await;
    let alice = app.register("alice").await;
    let response = upload(&app, &alice.access, "big.png", &png(2000, 2000, 255)).await;
    assert_eq!(error_code(&response), Some("BAD_USER_INPUT"), "{response}");
    assert!(
        response["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("too long"),
        "{response}"
    );
    assert!(stored(&app).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn identical_content_gets_identical_urls_and_old_pictures_are_deleted() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let same = png(100, 100, 255);

    let a = images(&upload(&app, &alice.access, "a.png", &same).await);
    let b = images(&upload(&app, &bob.access, "renamed.png", &same).await);
    assert_eq!(a, b, "the same content has the same URLs");
    assert_eq!(stored(&app).await.len(), 3, "and shares its objects");
    let again = images(&upload(&app, &alice.access, "again.png", &same).await);
    assert_eq!(a, again, "uploading it again changes nothing");

    // Alice changes hers: the shared objects stay, since Bob still uses them.
    let other = images(&upload(&app, &alice.access, "new.jpg", &jpeg(90, 90)).await);
    assert_ne!(other[0].1, a[0].1);
    assert_eq!(stored(&app).await.len(), 6);
    for (_, url, _) in &a {
        assert_eq!(get(&app, url, None).await.status, StatusCode::OK);
    }

    // Bob removes his: now nobody uses them, so they are deleted.
    let removed = app.gql(Some(&bob.access), REMOVE, json!({})).await;
    let removed = &ok_data(&removed)["removeAvatar"];
    assert_eq!(removed["id"], bob.id, "{removed}");
    assert!(removed["avatar"].is_null(), "{removed}");
    for (_, url, _) in &a {
        assert_eq!(get(&app, url, None).await.status, StatusCode::NOT_FOUND);
    }
    let left = stored(&app).await;
    assert_eq!(left.len(), 3);
    assert!(
        left.iter()
            .all(|name| other.iter().any(|(_, url, _)| path_of(url) == name))
    );

    // Removing what is not there is fine; removing Alice's empties the store.
    let twice = app.gql(Some(&bob.access), REMOVE, json!({})).await;
    assert!(twice["errors"].is_null(), "{twice}");
    app.gql(Some(&alice.access), REMOVE, json!({})).await;
    assert!(stored(&app).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn media_is_served_with_immutable_caching_and_revalidates_with_304() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let images = images(&upload(&app, &alice.access, "a.png", &png(64, 64, 255)).await);
    let url = &images[0].1;

    let first = get(&app, url, None).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.content_type(), "image/jpeg");
    assert_eq!(
        header(&first, header::CACHE_CONTROL),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(header(&first, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    assert_eq!(
        header(&first, header::CONTENT_LENGTH),
        first.body.len().to_string()
    );
    let etag = header(&first, header::ETAG).to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");

    for tag in [
        etag.clone(),
        format!("W/{etag}"),
        format!("\"other\", {etag}"),
        "*".to_owned(),
    ] {
        let revalidated = get(&app, url, Some(&tag)).await;
        assert_eq!(revalidated.status, StatusCode::NOT_MODIFIED, "{tag}");
        assert!(revalidated.body.is_empty());
        assert_eq!(header(&revalidated, header::ETAG), etag);
        assert_eq!(
            header(&revalidated, header::CACHE_CONTROL),
            "public, max-age=31536000, immutable"
        );
    }
    let changed = get(&app, url, Some("\"something-else\"")).await;
    assert_eq!(changed.status, StatusCode::OK);
    assert_eq!(changed.body, first.body);

    let head = app
        .send(
            Request::head(url.as_str())
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.body.is_empty());

    // Only names the server makes are served.
    let hash = path_of(url).split('/').nth(1).expect("hash").to_owned();
    for bad in [
        format!("/media/avatars/{hash}/100.jpg"),
        format!("/media/avatars/{hash}/64.png"),
        format!("/media/avatars/{}/64.jpg", "0".repeat(32)),
        "/media/avatars/../token.key".to_owned(),
        "/media/token.key".to_owned(),
        "/media/".to_owned(),
    ] {
        let answer = get(&app, &bad, None).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{bad}");
    }
    // A picture that is gone does not revalidate.
    app.gql(Some(&alice.access), REMOVE, json!({})).await;
    assert_eq!(
        get(&app, url, Some(&etag)).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_owner_changes_a_picture_and_admins_may_remove_any() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let admin = app.register_admin("root").await;
    upload(&app, &alice.access, "a.png", &png(64, 64, 255)).await;

    // Not signed in: a typed error, nothing stored beyond Alice's.
    let anonymous = app
        .send(multipart_request(None, true, "x.png", &png(64, 64, 255)))
        .await;
    assert_eq!(error_code(&anonymous.json()), Some("UNAUTHENTICATED"));
    assert_eq!(stored(&app).await.len(), 3);
    let anonymous_remove = app.gql(None, REMOVE, json!({ "id": alice.id })).await;
    assert_eq!(error_code(&anonymous_remove), Some("UNAUTHENTICATED"));

    let before = app.fingerprint().await;
    let forbidden = app
        .gql(Some(&bob.access), REMOVE, json!({ "id": alice.id }))
        .await;
    assert_eq!(error_code(&forbidden), Some("FORBIDDEN"), "{forbidden}");
    assert_eq!(app.fingerprint().await, before);
    assert_eq!(stored(&app).await.len(), 3);

    let missing = app
        .gql(
            Some(&admin.access),
            REMOVE,
            json!({ "id": "0190b8a0-0000-7000-8000-000000000000" }),
        )
        .await;
    assert_eq!(error_code(&missing), Some("NOT_FOUND"), "{missing}");
    let bad_id = app
        .gql(Some(&admin.access), REMOVE, json!({ "id": "nope" }))
        .await;
    assert_eq!(error_code(&bad_id), Some("BAD_USER_INPUT"), "{bad_id}");

    let removed = app
        .gql(Some(&admin.access), REMOVE, json!({ "id": alice.id }))
        .await;
    assert_eq!(removed["data"]["removeAvatar"]["id"], alice.id, "{removed}");
    assert!(removed["data"]["removeAvatar"]["avatar"].is_null());
    assert!(stored(&app).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn multipart_requests_need_a_preflight_header_and_json_keeps_its_limit() {
    let app = TestApp::spawn_with(|c| c.body_limit_bytes = 4096).await;
    let alice = app.register("alice").await;
    let file = png(64, 64, 255);

    // A cross-site form could send this: no Authorization, no preflight header.
    let simple = app
        .send(multipart_request(None, false, "a.png", &file))
        .await;
    assert_eq!(simple.status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&simple.json()), Some("BAD_USER_INPUT"));
    assert!(String::from_utf8_lossy(&simple.body).contains("Apollo-Require-Preflight"));

    // The header alone is enough to be heard (and then told to sign in).
    let preflighted = app
        .send(multipart_request(None, true, "a.png", &file))
        .await;
    assert_eq!(error_code(&preflighted.json()), Some("UNAUTHENTICATED"));

    // Authorization alone is enough too, and uploads beyond the JSON limit pass.
    let noisy = RgbaImage::from_fn(100, 100, |x, y| {
        Rgba([(x * 7 + y * 13) as u8, (x * y) as u8, (x ^ y) as u8, 255])
    });
    let bigger = encode(DynamicImage::ImageRgba8(noisy), ImageFormat::Png);
    assert!(bigger.len() > 4096);
    let signed_in = app
        .send(multipart_request(
            Some(&alice.access),
            false,
            "a.png",
            &bigger,
        ))
        .await;
    assert_eq!(signed_in.status, StatusCode::OK);
    assert!(signed_in.json()["errors"].is_null(), "{}", signed_in.json());

    // JSON bodies still stop at the body limit.
    let big_json = json!({ "query": format!("{{ __typename }} # {}", "x".repeat(8192)) });
    let answer = app
        .send(
            Request::post("/graphql")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(big_json.to_string()))
                .expect("request"),
        )
        .await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test(flavor = "multi_thread")]
async fn media_base_url_points_the_urls_at_a_cdn() {
    let app = TestApp::spawn_with(|c| {
        c.media_base_url = Some("https://cdn.example.test/m".to_owned());
    })
    .await;
    let alice = app.register("alice").await;
    let images = images(&upload(&app, &alice.access, "a.png", &png(64, 64, 255)).await);
    for (size, url, _) in &images {
        assert!(
            url.starts_with("https://cdn.example.test/m/avatars/")
                && url.ends_with(&format!("/{size}.jpg")),
            "{url}"
        );
        // The server still serves the same path, for the CDN to pull from.
        let local = format!(
            "/media/{}",
            url.trim_start_matches("https://cdn.example.test/m/")
        );
        assert_eq!(get(&app, &local, None).await.status, StatusCode::OK);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sweep_deletes_only_unused_old_avatars() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let kept = images(&upload(&app, &alice.access, "a.png", &png(64, 64, 255)).await);
    // What a crash between writing objects and committing would leave behind.
    let orphan = app
        .state
        .media
        .images
        .avatar(jpeg(80, 80))
        .await
        .expect("a valid picture");
    app.state
        .media
        .store
        .put_avatar(&orphan)
        .await
        .expect("written");
    assert_eq!(stored(&app).await.len(), 6);

    let young = avatars::sweep(&app.state, Duration::from_secs(3600))
        .await
        .expect("sweep");
    assert_eq!(
        (young.found, young.deleted),
        (2, 0),
        "young objects are left alone"
    );
    let swept = avatars::sweep(&app.state, Duration::ZERO)
        .await
        .expect("sweep");
    assert_eq!((swept.found, swept.deleted), (2, 1));
    let left = stored(&app).await;
    assert_eq!(left.len(), 3);
    assert!(
        left.iter()
            .all(|name| kept.iter().any(|(_, url, _)| path_of(url) == name))
    );
}

// ---------------------------------------------------------------------------------------
// S3, against a real S3-compatible server.

/// moto's S3 server on a loopback port, stopped on drop.
pub struct S3Server {
    /// Its address.
    pub endpoint: String,
    child: Option<std::process::Child>,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// An app whose media live in a new bucket of `server`.
pub async fn app_on_a_new_bucket(server: &S3Server) -> TestApp {
    let bucket = format!("messenger-test-{}", uuid::Uuid::now_v7().simple());
    messenger::media::store::install_crypto_provider();
    let created = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("an HTTP client")
        .put(format!("{}/{bucket}", server.endpoint))
        .send()
        .await
        .expect("creating the bucket");
    assert!(created.status().is_success(), "{}", created.status());
    let s3 = S3Config {
        bucket,
        region: "us-east-1".to_owned(),
        endpoint: Some(server.endpoint.clone()),
        allow_http: true,
        access_key_id: Some("testing".to_owned()),
        secret_access_key: Some("testing".to_owned()),
        session_token: None,
    };
    TestApp::spawn_with(|c| c.s3 = Some(s3)).await
}

/// `TEST_S3_ENDPOINT` if set (a server someone else runs), else moto started here
/// (`pip install 'moto[server]'`; `.ci/run` installs it). A server that cannot be had goes
/// through [`skip_or_fail`]: a failure under CI, a visible skip elsewhere.
pub async fn s3_server() -> Option<S3Server> {
    if let Ok(endpoint) = std::env::var("TEST_S3_ENDPOINT") {
        return Some(S3Server {
            endpoint,
            child: None,
        });
    }
    match start_moto() {
        Ok(server) => Some(server),
        Err(reason) => {
            skip_or_fail(&format!(
                "no S3 test server: {reason} (pip install 'moto[server]')"
            ));
            None
        }
    }
}

/// Installs moto's server from PyPI when it is missing, so `cargo test` needs nothing
/// installed by hand (one process at a time; pip is idempotent).
fn ensure_moto(python: &str) -> Result<(), String> {
    let present = |python: &str| {
        std::process::Command::new(python)
            .args(["-c", "import moto.server, flask, flask_cors"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if present(python) {
        return Ok(());
    }
    static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    if present(python) {
        return Ok(());
    }
    eprintln!("installing moto[server] from PyPI for the S3 test");
    let status = std::process::Command::new(python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .arg("moto[server]>=5,<6")
        .status()
        .map_err(|e| format!("cannot run pip: {e}"))?;
    if status.success() && present(python) {
        Ok(())
    } else {
        Err(format!("pip install 'moto[server]' failed ({status})"))
    }
}

/// Starts moto's server on a port the system picks (`-p 0`) and reads the port from its log,
/// so that no port is chosen in advance for another process to take meanwhile.
fn start_moto() -> Result<S3Server, String> {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    ensure_moto(&python)?;
    let mut child = std::process::Command::new(&python)
        .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", "0"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {python}: {e}"))?;
    let mut log = ChildLog::new(child.stderr.take().expect("stderr"));
    // Werkzeug says where it listens once it does: ` * Running on http://127.0.0.1:PORT`.
    let port = log.wait_for(Duration::from_secs(30), |line| {
        let rest = line.split("Running on http://127.0.0.1:").nth(1)?;
        rest.trim().parse::<u16>().ok()
    });
    match port {
        Ok(port) if port != 0 => Ok(S3Server {
            endpoint: format!("http://127.0.0.1:{port}"),
            child: Some(child),
        }),
        outcome => {
            let _ = child.kill();
            let _ = child.wait();
            Err(match outcome {
                Ok(_) => "moto did not say which port it took".to_owned(),
                Err(log) => format!("`{python} -m moto.server` did not start: {log}"),
            })
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_keeps_and_serves_pictures() {
    let Some(server) = s3_server().await else {
        return;
    };
    let app = app_on_a_new_bucket(&server).await;
    let alice = app.register("alice").await;

    let first = images(&upload(&app, &alice.access, "a.jpg", &jpeg_with_gps(300, 200)).await);
    let names = stored(&app).await;
    assert_eq!(names.len(), 3, "{names:?}");
    for (_, url, content_type) in &first {
        assert!(names.iter().any(|n| n == path_of(url)));
        // The bucket keeps the headers, for a CDN that reads it directly.
        let object = app
            .state
            .media
            .store
            .object_store()
            .get(&path_of(url).into())
            .await
            .expect("in the bucket");
        let attributes = object.attributes.clone();
        assert_eq!(
            attributes
                .get(&object_store::Attribute::ContentType)
                .map(|v| v.as_ref()),
            Some(content_type.as_str())
        );
        assert_eq!(
            attributes
                .get(&object_store::Attribute::CacheControl)
                .map(|v| v.as_ref()),
            Some("public, max-age=31536000, immutable")
        );
        let bytes = object.bytes().await.expect("bytes");
        assert!(
            !bytes
                .windows(GPS_MARKER.len())
                .any(|w| w == GPS_MARKER.as_bytes())
        );

        let served = get(&app, url, None).await;
        assert_eq!(served.status, StatusCode::OK);
        assert_eq!(served.body, bytes);
        let etag = header(&served, header::ETAG).to_owned();
        assert_eq!(
            get(&app, url, Some(&etag)).await.status,
            StatusCode::NOT_MODIFIED
        );
    }

    // Replacing deletes the old objects from the bucket; refusing stores nothing.
    let second = images(&upload(&app, &alice.access, "b.png", &png(64, 64, 0)).await);
    let names = stored(&app).await;
    assert_eq!(names.len(), 3);
    assert!(
        second
            .iter()
            .all(|(_, url, _)| names.iter().any(|n| n == path_of(url)))
    );
    let refused = upload(&app, &alice.access, "c.png", &png_declaring(90_000, 90_000)).await;
    assert_eq!(error_code(&refused), Some("BAD_USER_INPUT"));
    assert_eq!(stored(&app).await, names);
    app.gql(Some(&alice.access), REMOVE, json!({})).await;
    assert!(stored(&app).await.is_empty());
    drop(server);
}
