//! Opening a file: decompression (by extension, or by magic bytes when the extension says
//! nothing), a count of the bytes read from disk for progress, and the first bytes of the
//! content kept aside for format detection.

use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::path::Path;
use std::rc::Rc;

use super::FileError;

/// How a file is compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
pub(super) const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];

/// How much of the content is kept aside for detection.
const HEAD: usize = 64 * 1024;

/// An open file, ready to read.
pub(super) struct Opened {
    /// The content, decompressed.
    pub reader: Box<dyn BufRead>,
    /// The first bytes of the content (up to 64 KiB), also the first the reader yields.
    pub head: Vec<u8>,
    pub compression: Compression,
    /// Bytes read from the file on disk so far.
    pub counter: Rc<Cell<u64>>,
    /// The file's size on disk.
    pub bytes_total: u64,
}

/// Counts the bytes read through it.
struct Counting<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// Yields an error once (one met while reading the head), then the end.
struct Failing(Option<io::Error>);

impl Read for Failing {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        self.0.take().map_or(Ok(0), Err)
    }
}

pub(super) fn open(path: &Path) -> Result<Opened, FileError> {
    let err = |what: &str, e: &io::Error| FileError::new(path, None, format!("cannot {what}: {e}"));
    let file = File::open(path).map_err(|e| err("open", &e))?;
    let meta = file.metadata().map_err(|e| err("read", &e))?;
    if meta.is_dir() {
        return Err(FileError::new(path, None, "is a directory, not a file"));
    }
    let counter = Rc::new(Cell::new(0));
    let mut raw = BufReader::with_capacity(
        256 * 1024,
        Counting {
            inner: file,
            count: counter.clone(),
        },
    );
    let compression = match outer_extension(path).as_deref() {
        Some("gz" | "gzip") => Compression::Gzip,
        Some("zst" | "zstd") => Compression::Zstd,
        _ => {
            let magic = raw.fill_buf().map_err(|e| err("read", &e))?;
            if magic.starts_with(GZIP_MAGIC) {
                Compression::Gzip
            } else if magic.starts_with(ZSTD_MAGIC) {
                Compression::Zstd
            } else {
                Compression::None
            }
        }
    };
    let mut content: Box<dyn Read> = match compression {
        Compression::None => Box::new(raw),
        // Multi-member: `cat a.gz b.gz` is one gzip file, as gzip itself reads it.
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(raw)),
        Compression::Zstd => Box::new(
            zstd::stream::read::Decoder::with_buffer(raw)
                // Concatenated frames are read on, as zstd itself reads them.
                .map_err(|e| err("read zstd", &e))?,
        ),
    };
    // The head for detection; an error past its first bytes (a truncated compressed file)
    // is met again by the reader after them, so what came before still loads.
    let mut head = Vec::with_capacity(HEAD);
    let mut later = None;
    while head.len() < HEAD {
        let mut buf = [0u8; 8192];
        let want = buf.len().min(HEAD - head.len());
        match content.read(&mut buf[..want]) {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if head.is_empty() => {
                return Err(err(
                    match compression {
                        Compression::None => "read",
                        Compression::Gzip => "read gzip",
                        Compression::Zstd => "read zstd",
                    },
                    &e,
                ));
            }
            Err(e) => {
                later = Some(e);
                break;
            }
        }
    }
    let rest: Box<dyn Read> = match later {
        Some(e) => Box::new(Failing(Some(e))),
        None => content,
    };
    let reader = BufReader::with_capacity(256 * 1024, Cursor::new(head.clone()).chain(rest));
    Ok(Opened {
        reader: Box::new(reader),
        head,
        compression,
        counter,
        bytes_total: meta.len(),
    })
}

/// The file's last extension, lower case.
fn outer_extension(path: &Path) -> Option<String> {
    Some(path.extension()?.to_str()?.to_ascii_lowercase())
}

/// The extension under any compression extension (`jsonl` of `x.jsonl.gz`), lower case.
pub(super) fn inner_extension(path: &Path) -> Option<String> {
    let ext = outer_extension(path)?;
    if matches!(ext.as_str(), "gz" | "gzip" | "zst" | "zstd") {
        let stem = Path::new(path.file_stem()?);
        return outer_extension(stem);
    }
    Some(ext)
}
