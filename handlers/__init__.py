"""One module per trigger; each turns its event into a render request and back."""
