"""The certificate of completion as a signed PDF: its content (pdf.py) and its PAdES signature (signing.py)."""
