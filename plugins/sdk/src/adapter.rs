//! Glue from the traits in `backend.rs` to the generated bindings. Every
//! check the contract asks of all plugins alike lives here, once.

use std::cell::RefCell;
use std::marker::PhantomData;

use crate::bindings::exports::wharf::storage::storage as wit;
use crate::{
    ByteRange, Entry, Error, Lister, OauthFlow, ObjectMeta, OptionAlias, Options, Plugin,
    PluginInfo, Reader, Result, Store, StoreDescription, WriteOptions, Writer,
};
use wasip2::io::streams::OutputStream;

/// Implements the generated `Guest` traits for a [`Plugin`]; used by
/// [`crate::export_plugin!`].
pub struct PluginAdapter<P>(PhantomData<P>);

#[doc(hidden)]
pub struct StoreAdapter<S>(S);
#[doc(hidden)]
pub struct ReaderAdapter<R>(RefCell<Option<R>>);
#[doc(hidden)]
pub struct WriterAdapter<W: Writer>(RefCell<Option<W>>);
#[doc(hidden)]
pub struct ListerAdapter<L>(RefCell<Option<L>>);

type StoreOf<P> = <P as Plugin>::Store;

fn checked_key(key: &str) -> Result<&str> {
    wharf_key::check_key(key)
        .map(|()| key)
        .map_err(|e| Error::invalid_key(format!("invalid key {key:?}: {e}")))
}

impl<P: Plugin> wit::Guest for PluginAdapter<P> {
    type Store = StoreAdapter<StoreOf<P>>;
    type Reader = ReaderAdapter<<StoreOf<P> as Store>::Reader>;
    type Writer = WriterAdapter<<StoreOf<P> as Store>::Writer>;
    type Lister = ListerAdapter<<StoreOf<P> as Store>::Lister>;

    fn info() -> PluginInfo {
        P::info()
    }

    fn option_aliases() -> Vec<OptionAlias> {
        P::option_aliases()
    }

    fn open(options: Vec<(String, String)>) -> Result<wit::Store> {
        let options = Options::resolve(options, &P::info().options)?;
        Ok(wit::Store::new(StoreAdapter(P::open(options)?)))
    }
}

impl<P: Plugin> crate::bindings::exports::wharf::storage::authorization::Guest
    for PluginAdapter<P>
{
    fn flow() -> Option<OauthFlow> {
        P::oauth_flow()
    }
}

impl<S: Store> wit::GuestStore for StoreAdapter<S> {
    fn stat(&self, key: String) -> Result<ObjectMeta> {
        self.0.stat(checked_key(&key)?)
    }

    fn read(&self, key: String, range: Option<ByteRange>) -> Result<wit::Reader> {
        let reader = self.0.read(checked_key(&key)?, range)?;
        Ok(wit::Reader::new(ReaderAdapter(RefCell::new(Some(reader)))))
    }

    fn write(&self, key: String, options: WriteOptions) -> Result<wit::Writer> {
        let writer = self.0.write(checked_key(&key)?, options)?;
        Ok(wit::Writer::new(WriterAdapter(RefCell::new(Some(writer)))))
    }

    fn delete(&self, key: String) -> Result<()> {
        self.0.delete(checked_key(&key)?)
    }

    fn list(&self, prefix: String, delimiter: Option<String>) -> Result<wit::Lister> {
        wharf_key::check_prefix(&prefix)
            .map_err(|e| Error::invalid_key(format!("invalid prefix {prefix:?}: {e}")))?;
        if let Some(other) = delimiter.as_deref().filter(|d| *d != "/") {
            return Err(Error::unsupported(format!(
                "delimiter {other:?} is not supported; list with '/' or with no delimiter"
            )));
        }
        let lister = self.0.list(&prefix, delimiter.as_deref())?;
        Ok(wit::Lister::new(ListerAdapter(RefCell::new(Some(lister)))))
    }

    fn copy(&self, source: String, destination: String) -> Result<ObjectMeta> {
        self.0
            .copy(checked_key(&source)?, checked_key(&destination)?)
    }

    fn delete_many(&self, keys: Vec<String>) -> Vec<Result<()>> {
        let checked: Vec<Result<&str>> = keys.iter().map(|key| checked_key(key)).collect();
        let valid: Vec<&str> = checked
            .iter()
            .filter_map(|c| c.as_ref().ok().copied())
            .collect();
        let mut deleted = self.0.delete_many(&valid).into_iter();
        checked
            .into_iter()
            .map(|check| match check {
                Ok(key) => deleted.next().unwrap_or_else(|| {
                    Err(Error::other(format!(
                        "the plugin gave no result for {key:?} in delete-many"
                    )))
                }),
                Err(invalid) => Err(invalid),
            })
            .collect()
    }

    fn describe(&self) -> StoreDescription {
        self.0.describe()
    }

    fn hash(&self, key: String, kind: String) -> Result<String> {
        let key = checked_key(&key)?;
        let offered = self.0.describe().hashes;
        if !offered.contains(&kind) {
            return Err(Error::unsupported(format!(
                "this store gives no {kind:?} hash; it gives: {}",
                if offered.is_empty() {
                    "none".to_owned()
                } else {
                    offered.join(", ")
                }
            )));
        }
        self.0.hash(key, &kind)
    }

    fn presign(
        &self,
        key: String,
        method: crate::HttpMethod,
        expires_in: u64,
    ) -> Result<crate::PresignedUrl> {
        let key = checked_key(&key)?;
        match self.0.describe().urls {
            crate::UrlSupport::Unsupported => Err(Error::unsupported(
                "this backend makes no URLs for its objects",
            )),
            crate::UrlSupport::Public if !matches!(method, crate::HttpMethod::Get) => {
                Err(Error::unsupported(format!(
                    "this backend's URLs are public addresses that can only be read; {method:?} \
                     needs a signed URL"
                )))
            }
            _ => self.0.presign(key, method, expires_in),
        }
    }

    fn write_new(&self, key: String, options: WriteOptions) -> Result<wit::Writer> {
        let key = checked_key(&key)?;
        if !self.0.describe().create_only {
            return Err(Error::unsupported(
                "this backend cannot refuse a write onto an existing key in the same step as \
                 the write, so it offers no create-only writes",
            ));
        }
        let writer = self.0.write_new(key, options)?;
        Ok(wit::Writer::new(WriterAdapter(RefCell::new(Some(writer)))))
    }
}

// `close` drops the backend's reader or lister there and then, which lets
// go of what it holds (an HTTP response, a connection's data channel);
// calls after it see the end.
impl<R: Reader> wit::GuestReader for ReaderAdapter<R> {
    fn read(&self, max_bytes: u32) -> Result<Vec<u8>> {
        match self.0.borrow_mut().as_mut() {
            Some(reader) => reader.read(max_bytes.max(1) as usize),
            None => Ok(Vec::new()),
        }
    }

    fn close(&self) {
        self.0.borrow_mut().take();
    }

    fn take_stream(&self) -> Option<wit::HandedStream> {
        self.0.borrow_mut().as_mut()?.take_stream()
    }

    fn stream_ended(&self, received: u64, failure: Option<String>) -> Result<()> {
        match self.0.borrow_mut().as_mut() {
            Some(reader) => reader.stream_ended(received, failure),
            None => Ok(()),
        }
    }
}

fn finished() -> Error {
    Error::other("this writer was already finished or aborted; start a new write")
}

impl<W: Writer> wit::GuestWriter for WriterAdapter<W> {
    fn write(&self, chunk: Vec<u8>) -> Result<()> {
        let mut slot = self.0.borrow_mut();
        let writer = slot.as_mut().ok_or_else(finished)?;
        let result = writer.write(chunk);
        if result.is_err() {
            // A failed write leaves the object in an unknown state, so it is
            // thrown away now rather than trusting a later `finish`.
            if let Some(writer) = slot.take() {
                let _ = writer.abort();
            }
        }
        result
    }

    fn finish(&self) -> Result<ObjectMeta> {
        let writer = self.0.borrow_mut().take().ok_or_else(finished)?;
        writer.finish()
    }

    fn abort(&self) -> Result<()> {
        match self.0.borrow_mut().take() {
            Some(writer) => writer.abort(),
            None => Ok(()),
        }
    }

    fn take_stream(&self) -> Option<OutputStream> {
        self.0.borrow_mut().as_mut()?.take_stream()
    }
}

impl<W: Writer> Drop for WriterAdapter<W> {
    fn drop(&mut self) {
        if let Some(writer) = self.0.get_mut().take() {
            let _ = writer.abort();
        }
    }
}

impl<L: Lister> wit::GuestLister for ListerAdapter<L> {
    fn next(&self, max_entries: u32) -> Result<Vec<Entry>> {
        match self.0.borrow_mut().as_mut() {
            Some(lister) => lister.next(max_entries.max(1) as usize),
            None => Ok(Vec::new()),
        }
    }

    fn close(&self) {
        self.0.borrow_mut().take();
    }
}
