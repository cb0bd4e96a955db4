//! Reports as PDF with Chinese text: a small document model laid out on A4 pages with an
//! embedded, subsetted CJK font.
