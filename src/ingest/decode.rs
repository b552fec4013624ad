//! Request bodies as senders compress them (`Content-Encoding`), inflated
//! with a hard cap on the output: a 1 MiB body may claim gigabytes, so the
//! decoders stream into a buffer that refuses the byte past the limit
//! instead of trusting any declared size.
//!
//! Two senders mean two things by `deflate`: Sentry's is zlib-wrapped
//! (RFC 1950), Loki's raw DEFLATE (RFC 1951). [`Encoding::Deflate`] reads
//! both, by the zlib header's first two bytes.

use std::io::Read;

/// A `Content-Encoding` this module reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Identity,
    Gzip,
    Deflate,
    Brotli,
}

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("Content-Encoding `{0}` is not supported; send gzip, deflate, br or none")]
    Unsupported(String),
    #[error("the body is larger than {limit} bytes once decompressed")]
    TooLarge { limit: usize },
    #[error("the body is not valid {encoding}: {message}")]
    Corrupt {
        encoding: &'static str,
        message: String,
    },
}

impl Encoding {
    /// The encoding named by a `Content-Encoding` header (`snappy` is not one
    /// of these: Loki's protobuf step reads it).
    pub fn parse(header: Option<&str>) -> Result<Self, DecodeError> {
        let Some(v) = header.map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(Self::Identity);
        };
        match v.to_ascii_lowercase().as_str() {
            "identity" => Ok(Self::Identity),
            "gzip" | "x-gzip" => Ok(Self::Gzip),
            "deflate" => Ok(Self::Deflate),
            "br" => Ok(Self::Brotli),
            _ => Err(DecodeError::Unsupported(
                crate::domain::labels::truncate_text(v, 40),
            )),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Identity => "identity",
            Self::Gzip => "gzip",
            Self::Deflate => "deflate",
            Self::Brotli => "brotli",
        }
    }
}

/// The body decoded; at most `limit` bytes, else [`DecodeError::TooLarge`].
/// An identity body is returned as it is (no copy).
pub fn decode(
    body: &actix_web::web::Bytes,
    encoding: Encoding,
    limit: usize,
) -> Result<actix_web::web::Bytes, DecodeError> {
    let out = match encoding {
        Encoding::Identity => {
            if body.len() > limit {
                return Err(DecodeError::TooLarge { limit });
            }
            return Ok(body.clone());
        }
        Encoding::Gzip => read_capped(flate2::read::MultiGzDecoder::new(&body[..]), limit),
        Encoding::Deflate if looks_like_zlib(body) => {
            read_capped(flate2::read::ZlibDecoder::new(&body[..]), limit)
        }
        Encoding::Deflate => read_capped(flate2::read::DeflateDecoder::new(&body[..]), limit),
        Encoding::Brotli => read_capped(
            brotli_decompressor::Decompressor::new(&body[..], 8 * 1024),
            limit,
        ),
    };
    out.map(actix_web::web::Bytes::from).map_err(|e| match e {
        Capped::TooLarge => DecodeError::TooLarge { limit },
        Capped::Io(e) => DecodeError::Corrupt {
            encoding: encoding.name(),
            message: e.to_string(),
        },
    })
}

/// A zlib stream starts with CMF 0x78 (deflate, 32 KiB window) and a FLG
/// that makes the pair a multiple of 31.
fn looks_like_zlib(b: &[u8]) -> bool {
    b.len() >= 2 && b[0] == 0x78 && (u16::from(b[0]) << 8 | u16::from(b[1])) % 31 == 0
}

enum Capped {
    TooLarge,
    Io(std::io::Error),
}

fn read_capped(reader: impl Read, limit: usize) -> Result<Vec<u8>, Capped> {
    let mut out = Vec::new();
    // One byte more than allowed tells "exactly at the limit" from "over".
    let mut taken = reader.take(limit as u64 + 1);
    taken.read_to_end(&mut out).map_err(Capped::Io)?;
    if out.len() > limit {
        return Err(Capped::TooLarge);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use actix_web::web::Bytes;

    use super::*;

    fn gzip(data: &[u8]) -> Bytes {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        Bytes::from(e.finish().unwrap())
    }

    #[test]
    fn every_encoding_round_trips() {
        let data = b"{\"a\":1}\n".repeat(100);
        assert_eq!(
            &decode(&gzip(&data), Encoding::Gzip, 1 << 20).unwrap()[..],
            &data[..]
        );
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&data).unwrap();
        let z = Bytes::from(z.finish().unwrap());
        assert_eq!(
            &decode(&z, Encoding::Deflate, 1 << 20).unwrap()[..],
            &data[..]
        );
        let mut r = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        r.write_all(&data).unwrap();
        let r = Bytes::from(r.finish().unwrap());
        assert_eq!(
            &decode(&r, Encoding::Deflate, 1 << 20).unwrap()[..],
            &data[..]
        );
        let plain = Bytes::from(data.clone());
        assert_eq!(decode(&plain, Encoding::Identity, 1 << 20).unwrap(), plain);
    }

    #[test]
    fn a_bomb_stops_at_the_limit() {
        let bomb = gzip(&vec![0u8; 10 << 20]);
        assert!(bomb.len() < 64 * 1024);
        assert!(matches!(
            decode(&bomb, Encoding::Gzip, 1 << 20),
            Err(DecodeError::TooLarge { limit }) if limit == 1 << 20
        ));
        // Exactly at the limit is fine.
        let exact = gzip(&vec![7u8; 1000]);
        assert_eq!(decode(&exact, Encoding::Gzip, 1000).unwrap().len(), 1000);
    }

    #[test]
    fn truncated_and_garbage_bodies_are_corrupt() {
        let g = gzip(&b"hello world ".repeat(1000));
        let cut = g.slice(..g.len() / 2);
        assert!(matches!(
            decode(&cut, Encoding::Gzip, 1 << 20),
            Err(DecodeError::Corrupt { .. })
        ));
        let junk = Bytes::from_static(b"definitely not brotli or gzip");
        assert!(decode(&junk, Encoding::Gzip, 1 << 20).is_err());
        assert!(decode(&junk, Encoding::Brotli, 1 << 20).is_err());
    }

    #[test]
    fn header_names() {
        assert_eq!(Encoding::parse(None).unwrap(), Encoding::Identity);
        assert_eq!(Encoding::parse(Some(" GZIP ")).unwrap(), Encoding::Gzip);
        assert_eq!(Encoding::parse(Some("br")).unwrap(), Encoding::Brotli);
        assert!(matches!(
            Encoding::parse(Some("zstd")),
            Err(DecodeError::Unsupported(e)) if e == "zstd"
        ));
    }
}
