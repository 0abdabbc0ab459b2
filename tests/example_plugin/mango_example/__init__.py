"""An example third-party Mango plugin (notes per location), kept in the tests of the core."""
