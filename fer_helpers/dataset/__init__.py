"""The data set: FER-2013 found and read in any of its forms (`sources`), one split keyed by image
content (`data`), copies and blank images (`duplicates`, `audit`), descriptive statistics (`eda`), which images
a chapter shows (`sampling`), and synthetic faces for tests and the smoke profile (`synthetic`)."""
