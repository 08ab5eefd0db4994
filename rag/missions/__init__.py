"""Practice missions: term explanation and sales conversation."""
