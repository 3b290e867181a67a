// safetensors bytes in the page (https://github.com/huggingface/safetensors), the one wire
// format of the decoder's weights (explorer/core/export.py pack_decoder) and the grid's
// pixels (explorer/ui/components/browser_grid.py pack_grid): an 8-byte little-endian header length n,
// n bytes of JSON ({name: {dtype, shape, data_offsets: [begin, end]}, __metadata__: {key:
// string}}), then the tensors' little-endian bytes, offsets counted from the header's end.
// Put in front of a component's JS (browser_decoder.py, browser_grid.py).
const SAFETENSORS_DTYPES = { F64: Float64Array, F32: Float32Array, I64: BigInt64Array, U64: BigUint64Array,
  I32: Int32Array, U32: Uint32Array, I16: Int16Array, U16: Uint16Array, I8: Int8Array, U8: Uint8Array, BOOL: Uint8Array };

// {metadata: {key: string}, tensors: {name: {dtype, shape, data: typed array (a copy)}}}.
function parseSafetensors(bytes) {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength < 8) throw new Error("not safetensors bytes");
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (8 + n > bytes.byteLength) throw new Error("not safetensors bytes: the header is longer than the data");
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  const body = bytes.slice(8 + n).buffer;  // a copy at offset 0: every typed array over it is aligned
  const tensors = {};
  for (const [name, t] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const Type = SAFETENSORS_DTYPES[t.dtype], [begin, end] = t.data_offsets;
    if (!Type) throw new Error(`safetensors: tensor ${name} has the unsupported dtype ${t.dtype}`);
    tensors[name] = { dtype: t.dtype, shape: t.shape, data: new Type(body, begin, (end - begin) / Type.BYTES_PER_ELEMENT) };
  }
  return { metadata: header.__metadata__ || {}, tensors };
}
