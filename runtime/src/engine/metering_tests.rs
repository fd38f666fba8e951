//! What the host meters on a scan: the dictionary work a batch causes is
//! counted per entry re-mapped, and new scan-wide entries are counted as
//! memory, so a file whose dictionaries change batch after batch is charged
//! for every re-mapping.

use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, DictionaryArray, Int32Array, RecordBatch, StringArray};

use crate::data::BatchEncoder;

fn batch(keys: &[i32], values: &ArrayRef) -> RecordBatch {
    let dict =
        DictionaryArray::<Int32Type>::try_new(Int32Array::from(keys.to_vec()), values.clone())
            .unwrap();
    RecordBatch::try_from_iter([("region", Arc::new(dict) as ArrayRef)]).unwrap()
}

#[test]
fn every_changed_dictionary_is_counted_entry_by_entry() {
    let mut encoder = BatchEncoder::new(vec!["region".into()]);
    let first: ArrayRef = Arc::new(StringArray::from(vec!["north", "south"]));
    let fed = encoder.encode(&batch(&[0, 1, 1], &first)).unwrap();
    assert_eq!(fed.dictionary_entries, 2);
    assert!(fed.dictionary_bytes >= 10, "two new entries are held");
    // The same dictionary again: nothing re-mapped, nothing new.
    let fed = encoder.encode(&batch(&[1, 0], &first)).unwrap();
    assert_eq!((fed.dictionary_entries, fed.dictionary_bytes), (0, 0));
    // A new dictionary array (as a new row group brings): all re-mapped,
    // only `east` is new.
    let second: ArrayRef = Arc::new(StringArray::from(vec!["south", "east", "north"]));
    let fed = encoder.encode(&batch(&[2, 1], &second)).unwrap();
    assert_eq!(fed.dictionary_entries, 3);
    assert!(fed.dictionary_bytes >= 4 && fed.dictionary_bytes < 200);
}
