"""The servers ppsync talks to, behind one interface (``base``): each kind is one subpackage that
turns its wire format into neutral data and back; ``http`` is the HTTP boundary they share."""
