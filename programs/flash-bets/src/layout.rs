//! Fixed-size little-endian encoding for account data and instruction data: no serializer
//! crate, so every byte's place is visible here and sizes are checked on every read.

use solana_program::pubkey::Pubkey;

use crate::error::FlashError;

/// Reads fields in order; any read past the end is [`FlashError::InvalidInstruction`] for
/// instruction data (callers map it to their own error for account data).
#[derive(Debug)]
pub struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    pub fn bytes<const N: usize>(&mut self) -> Result<[u8; N], FlashError> {
        let (head, rest) = self.data.split_at_checked(N).ok_or(FlashError::InvalidInstruction)?;
        self.data = rest;
        let mut out = [0u8; N];
        out.copy_from_slice(head);
        Ok(out)
    }

    pub fn u8(&mut self) -> Result<u8, FlashError> {
        Ok(self.bytes::<1>()?[0])
    }

    pub fn bool(&mut self) -> Result<bool, FlashError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(FlashError::InvalidInstruction),
        }
    }

    pub fn u16(&mut self) -> Result<u16, FlashError> {
        Ok(u16::from_le_bytes(self.bytes()?))
    }

    pub fn u32(&mut self) -> Result<u32, FlashError> {
        Ok(u32::from_le_bytes(self.bytes()?))
    }

    pub fn u64(&mut self) -> Result<u64, FlashError> {
        Ok(u64::from_le_bytes(self.bytes()?))
    }

    pub fn i64(&mut self) -> Result<i64, FlashError> {
        Ok(i64::from_le_bytes(self.bytes()?))
    }

    pub fn pubkey(&mut self) -> Result<Pubkey, FlashError> {
        Ok(Pubkey::new_from_array(self.bytes()?))
    }

    /// Fails unless every byte was read: trailing bytes are malformed input, not padding.
    pub fn finish(self) -> Result<(), FlashError> {
        if self.data.is_empty() { Ok(()) } else { Err(FlashError::InvalidInstruction) }
    }
}

/// Appends fields in order.
#[derive(Debug, Default)]
pub struct Writer {
    pub out: Vec<u8>,
}

impl Writer {
    pub fn with_capacity(n: usize) -> Self {
        Self { out: Vec::with_capacity(n) }
    }

    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.out.extend_from_slice(b);
        self
    }

    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.bytes(&[v])
    }

    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.u8(u8::from(v))
    }

    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.bytes(&v.to_le_bytes())
    }

    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.bytes(&v.to_le_bytes())
    }

    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.bytes(&v.to_le_bytes())
    }

    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.bytes(&v.to_le_bytes())
    }

    pub fn pubkey(&mut self, k: &Pubkey) -> &mut Self {
        self.bytes(k.as_ref())
    }
}
