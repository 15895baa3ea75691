/* A shared library that is not a parbench plugin: it exports no parbench_plugin(). */
int not_a_plugin(void);
int not_a_plugin(void) { return 42; }
