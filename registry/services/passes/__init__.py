"""The pass itself: programmes (one commanditaire's order), booklets and passes, their distribution, redemption at
the venue, monthly statements and fraud signals; the commanditaire's and the State's side: usage, yearly
declarations, end of validity, open usage data. Imports from the venues' and territories' layers, never from
the web (``tests/test_layers.py``)."""
