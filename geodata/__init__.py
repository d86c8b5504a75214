"""Territory reference and geometry helpers: plain Python and shapely, no Flask, no ORM."""
