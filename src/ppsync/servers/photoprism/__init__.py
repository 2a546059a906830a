"""PhotoPrism: the only modules that know its URLs, field names, tokens and paging quirks."""
