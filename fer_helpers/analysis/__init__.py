"""Analysis: intervals and paired tests (`intervals`), the verdicts on the study's claims
(`comparisons`, `claims`) and on the fast-training levers (`levers`), what a model looks at (`cam`,
`regions`), reviews by eye (`reviews`), the peer and the published numbers (`peers`, `reference`), and the
figures: faces (`grids`) and charts (`plots`)."""
