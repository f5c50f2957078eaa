"""High-tech parks and the service stations societies set up in them."""
