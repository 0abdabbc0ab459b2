"""Services: a customer's instances of products, their lifecycle, blocks and scheduled changes."""
