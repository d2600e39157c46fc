"""The quarterly 晾晒 专报 (docx/xlsx) and the Parquet export. Imports the layers below."""
